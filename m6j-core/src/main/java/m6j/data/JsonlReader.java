package m6j.data;

import m6j.runtime.FileTrees;
import m6j.runtime.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.nio.charset.MalformedInputException;

/**
 * JSON Lines, one record a line, streamed: {"text"} plain text; {"prompt","completion"} or {"messages":[...]}
 * instruction and chat pairs; {"text","label"} classification; any of them with an optional "image" (a path
 * relative to the file, a data URL or base64; chat content parts may carry it as image_url). A folder is read as
 * all its *.jsonl files. Record ids are FILE:LINE (or the record's "id").
 */
final class JsonlReader implements SourceReader {
    private static final ObjectMapper JSON = Json.MAPPER;
    private final Source source;
    private final Path path;

    JsonlReader(Source source, Path path) {
        this.source = source;
        this.path = path;
    }

    @Override public Source source() { return source; }

    static List<Path> files(Path path) throws IOException { return FileTrees.files(path, p -> p.getFileName().toString().endsWith(".jsonl")); }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        if (!Files.exists(path)) {
            sink.notInstalled();
            return;
        }
        Path rootDir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        DatasetRoot dataset = new DatasetRoot(rootDir, source.id());
        for (Path file : files(path)) {
            if (sink.full()) break;
            Path base = file.toAbsolutePath().getParent();
            List<String> labels = RecordFields.labels(base, dataset.path());
            String name = dataset.path().relativize(file.toAbsolutePath().normalize()).toString().replace('\\', '/');
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                int lineNo = 0;
                while ((line = in.readLine()) != null && !sink.full()) {
                    lineNo++;
                    if (line.isBlank()) continue;
                    JsonNode n;
                    try {
                        n = JSON.readTree(line);
                    } catch (IOException e) {
                        sink.skip(Skip.BAD_JSON);
                        continue;
                    }
                    if (n == null || !n.isObject() || !(n.has("text") || n.has("caption") || n.has("completion")
                            || n.has("messages"))) {
                        sink.skip(Skip.UNRECOGNISED_RECORD);
                        continue;
                    }
                    RecordFields.Fields f = RecordFields.of(n, labels);
                    if (f.skipReason() != null) {
                        sink.skip(f.skipReason());
                        continue;
                    }
                    if (f.text().isEmpty()) {
                        sink.skip(f.image() != null || !f.prompt().isEmpty() ? Skip.MISSING_CAPTION : Skip.EMPTY_TEXT);
                        continue;
                    }
                    Split split;
                    try {
                        split = RecordFields.split(f.split());
                    } catch (IllegalArgumentException e) {
                        sink.skip(Skip.UNKNOWN_SPLIT);
                        continue;
                    }
                    if (sink.full(split)) continue;
                    byte[] rgb = null;
                    if (f.image() != null) {
                        ImageFiles.Decoded d = RecordFields.image(f.image(), dataset, base, sink.imageSize());
                        if (d.skipReason() != null) {
                            sink.skip(d.skipReason());
                            continue;
                        }
                        rgb = d.rgb();
                    }
                    String id = n.hasNonNull("id") && n.get("id").isValueNode() ? n.get("id").asText() : name + ":" + lineNo;
                    sink.add(id, split, f.prompt(), f.text(), f.label(), rgb);
                }
            } catch (MalformedInputException e) {
                sink.skip(Skip.BAD_UTF8); // the rest of this file is lost
            }
        }
    }
}
