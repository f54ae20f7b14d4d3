package m6j.data;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Brown Corpus form C: one tagged sentence per line, tokens "word/tag". Tags are stripped, tokens detokenised,
 * and sentences packed into passages of at most {@link #MAX_PASSAGE} characters; label = genre from cats.txt.
 */
public final class BrownReader implements SourceReader {
    public static final int MAX_PASSAGE = 300;
    private static final Set<String> NO_SPACE_BEFORE = Set.of(
            ".", ",", ";", ":", "?", "!", ")", "]", "}", "''", "'", "'s", "n't", "'re", "'ve", "'ll", "'d", "'m", "%");
    private static final Set<String> NO_SPACE_AFTER = Set.of("(", "[", "{", "``", "`", "$");

    @Override public Source source() { return Source.BROWN; }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        Path root = roots.brown();
        if (!Files.isDirectory(root)) {
            sink.notInstalled();
            return;
        }
        Map<String, String> genre = genres(root.resolve("cats.txt"));
        List<Path> files;
        try (Stream<Path> s = Files.list(root)) {
            files = s.filter(p -> p.getFileName().toString().matches("c[a-r]\\d\\d")).sorted().toList();
        }
        sink.progress("files", files.size());
        for (Path f : files) {
            if (sink.full()) break;
            sink.tick();
            String name = f.getFileName().toString();
            String content;
            try {
                content = TextClean.decodeStrict(Files.readAllBytes(f));
            } catch (CharacterCodingException e) {
                sink.skip(Skip.BAD_UTF8);
                continue;
            }
            List<String> passages = passages(content);
            for (int i = 0; i < passages.size(); i++) {
                sink.add(String.format("%s-%03d", name, i), null, passages.get(i), genre.getOrDefault(name, ""), null);
            }
        }
    }

    private static Map<String, String> genres(Path cats) throws IOException {
        Map<String, String> m = new HashMap<>();
        if (!Files.isRegularFile(cats)) return m;
        for (String line : Files.readAllLines(cats)) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length == 2) m.put(parts[0], parts[1]);
        }
        return m;
    }

    /** Sentences (one per non-blank line) packed greedily into passages; an over-long sentence is cut at spaces. */
    static List<String> passages(String content) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (String line : content.split("\n")) {
            if (line.isBlank()) continue;
            for (String sentence : cut(TextClean.oneLine(detokenise(line)))) {
                // Headlines sometimes put their final "." on a line of its own: glue it back.
                boolean glue = ".,;:?!)]}%".indexOf(sentence.charAt(0)) >= 0;
                if (cur.length() > 0 && cur.length() + (glue ? 0 : 1) + sentence.length() > MAX_PASSAGE) {
                    out.add(cur.toString());
                    cur.setLength(0);
                }
                if (cur.length() > 0 && !glue) cur.append(' ');
                cur.append(sentence);
            }
        }
        if (cur.length() > 0) out.add(cur.toString());
        return out;
    }

    private static List<String> cut(String s) {
        List<String> parts = new ArrayList<>();
        while (s.length() > MAX_PASSAGE) {
            int at = s.lastIndexOf(' ', MAX_PASSAGE);
            if (at <= 0) at = MAX_PASSAGE;
            parts.add(s.substring(0, at).trim());
            s = s.substring(at).trim();
        }
        if (!s.isEmpty()) parts.add(s);
        return parts;
    }

    /** "The/at jury/nn said/vbd ``/`` no/at ''/'' ./." -> "The jury said \"no\"." */
    static String detokenise(String line) {
        StringBuilder b = new StringBuilder();
        boolean glueNext = true;
        for (String tok : line.trim().split("\\s+")) {
            if (tok.isEmpty()) continue;
            int slash = tok.lastIndexOf('/');
            String w = slash > 0 ? tok.substring(0, slash) : tok;
            boolean glue = glueNext || NO_SPACE_BEFORE.contains(w);
            glueNext = NO_SPACE_AFTER.contains(w);
            if (!glue) b.append(' ');
            b.append(switch (w) {
                case "``", "''" -> "\"";
                case "`" -> "'";
                default -> w;
            });
        }
        return b.toString();
    }
}
