package m6j.data;

import m6j.runtime.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * chinese-poetry (npm, MIT): dist/quantangshi/poet.{tang,song}.N.json and dist/songci/ci.song.N.json.
 * Text = the paragraphs joined by newlines (title left out: it often repeats the tune name); label = tang|song|ci.
 */
public final class ChinesePoetryReader implements SourceReader {
    public static final int MAX_CHARS = 300;
    private static final Pattern FILE = Pattern.compile("(poet\\.tang|poet\\.song|ci\\.song)\\.(\\d+)\\.json");
    private static final List<String> ORDER = List.of("poet.tang", "poet.song", "ci.song");

    @Override public Source source() { return Source.CHINESE_POETRY; }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        Path dist = roots.chinesePoetry().resolve("dist");
        if (!Files.isDirectory(dist)) {
            sink.notInstalled();
            return;
        }
        List<Path> files = new ArrayList<>();
        for (String sub : List.of("quantangshi", "songci")) {
            Path d = dist.resolve(sub);
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> s = Files.list(d)) {
                s.filter(p -> FILE.matcher(p.getFileName().toString()).matches()).forEach(files::add);
            }
        }
        files.sort(Comparator.comparing((Path p) -> ORDER.indexOf(group(p, 1))).thenComparingLong(p -> Long.parseLong(group(p, 2))));
        if (files.isEmpty()) {
            sink.notInstalled();
            return;
        }
        ObjectMapper json = Json.MAPPER;
        sink.progress("files", files.size());
        for (Path f : files) {
            if (sink.full()) break;
            sink.tick();
            String name = f.getFileName().toString();
            String label = switch (group(f, 1)) {
                case "poet.tang" -> "tang";
                case "poet.song" -> "song";
                default -> "ci";
            };
            JsonNode poems;
            try {
                poems = json.readTree(TextClean.decodeStrict(Files.readAllBytes(f)));
            } catch (CharacterCodingException e) {
                sink.skip(Skip.BAD_UTF8);
                continue;
            } catch (IOException e) {
                sink.skip(Skip.BAD_JSON);
                continue;
            }
            if (poems == null || !poems.isArray()) {
                sink.skip(Skip.BAD_JSON);
                continue;
            }
            String stem = name.substring(0, name.length() - ".json".length());
            for (int i = 0; i < poems.size(); i++) {
                StringBuilder b = new StringBuilder();
                for (JsonNode line : poems.get(i).path("paragraphs")) {
                    if (b.length() > 0) b.append('\n');
                    b.append(line.asText(""));
                }
                String text = TextClean.clean(b.toString());
                if (text.length() > MAX_CHARS) {
                    sink.skip(Skip.TOO_LONG);
                    continue;
                }
                sink.add(stem + "-" + i, null, text, label, null);
            }
        }
    }

    private static String group(Path p, int g) {
        Matcher m = FILE.matcher(p.getFileName().toString());
        if (!m.matches()) throw new IllegalStateException(p.toString());
        return m.group(g);
    }
}
