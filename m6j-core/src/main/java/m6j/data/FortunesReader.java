package m6j.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * fortune(6) files: entries separated by lines holding only "%". English = every plain topic file of the
 * directory except the Chinese ones; Chinese = chinese, tang300, song100 (fortunes-zh, which colours with ANSI).
 * Label = topic file name.
 */
public final class FortunesReader implements SourceReader {
    public static final Set<String> ZH_FILES = Set.of("chinese", "tang300", "song100");
    public static final int MAX_CHARS = 400;
    private final boolean chinese;

    public FortunesReader(boolean chinese) { this.chinese = chinese; }

    @Override public Source source() { return chinese ? Source.FORTUNES_ZH : Source.FORTUNES_EN; }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        Path dir = roots.fortunes();
        List<Path> files = List.of();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(Files::isRegularFile).filter(p -> {
                    String n = p.getFileName().toString();
                    // .dat are strfile indexes, .u8 their UTF-8 twins (links); both would duplicate entries
                    return !n.contains(".") && ZH_FILES.contains(n) == chinese;
                }).sorted().toList();
            }
        }
        if (files.isEmpty()) {
            sink.notInstalled();
            return;
        }
        sink.progress("files", files.size());
        for (Path f : files) {
            if (sink.full()) break;
            sink.tick();
            String topic = f.getFileName().toString();
            List<byte[]> entries = entries(Files.readAllBytes(f));
            for (int i = 0; i < entries.size(); i++) {
                String text;
                try {
                    text = TextClean.clean(TextClean.stripAnsi(TextClean.decodeStrict(entries.get(i))));
                } catch (CharacterCodingException e) {
                    sink.skip(Skip.BAD_UTF8);
                    continue;
                }
                if (text.isEmpty()) continue; // blank entries between separators are not records
                if (text.length() > MAX_CHARS) {
                    sink.skip(Skip.TOO_LONG);
                    continue;
                }
                sink.add(topic + "-" + i, null, text, topic, null);
            }
        }
    }

    /** Splits raw bytes on "%" lines before decoding, so one bad entry does not lose the whole file. */
    static List<byte[]> entries(byte[] data) {
        List<byte[]> out = new ArrayList<>();
        ByteArrayOutputStream cur = new ByteArrayOutputStream();
        int start = 0;
        for (int i = 0; i <= data.length; i++) {
            if (i == data.length || data[i] == '\n') {
                int end = i;
                if (end > start && data[end - 1] == '\r') end--;
                if (end - start == 1 && data[start] == '%') {
                    out.add(cur.toByteArray());
                    cur.reset();
                } else {
                    cur.write(data, start, end - start);
                    cur.write('\n');
                }
                start = i + 1;
            }
        }
        if (cur.size() > 0) out.add(cur.toByteArray());
        return out;
    }
}
