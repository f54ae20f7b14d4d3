package m6j.data;

import m6j.runtime.FileTrees;
import m6j.runtime.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.nio.charset.MalformedInputException;

/**
 * A Hugging Face "imagefolder": metadata.jsonl or metadata.csv files anywhere in the tree, each row naming an image
 * by {@code file_name} (relative to the metadata file's folder) with {@code text} (or {@code caption}), optional
 * {@code label}, {@code prompt} and {@code split}. A metadata file under a folder named train/test/validation gives
 * its rows that split unless they name their own. Rows are read one at a time (streaming).
 */
final class ImageFolderReader implements SourceReader {
    private static final ObjectMapper JSON = Json.MAPPER;
    private final Source source;
    private final Path root;

    ImageFolderReader(Source source, Path root) {
        this.source = source;
        this.root = root;
    }

    @Override public Source source() { return source; }

    static List<Path> metadataFiles(Path root) throws IOException {
        return FileTrees.files(root, p -> p.getFileName().toString().equals("metadata.jsonl") || p.getFileName().toString().equals("metadata.csv"));
    }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        Path dir = Files.isRegularFile(root) ? root.toAbsolutePath().getParent() : root;
        if (!Files.isDirectory(dir)) {
            sink.notInstalled();
            return;
        }
        DatasetRoot dataset = new DatasetRoot(dir, source.id());
        for (Path meta : metadataFiles(root)) {
            if (sink.full()) break;
            Path base = meta.toAbsolutePath().getParent();
            List<String> labels = RecordFields.labels(base, dataset.path());
            String folderSplit = folderSplit(dataset.path().relativize(base));
            try {
                if (meta.getFileName().toString().endsWith(".csv")) readCsv(meta, base, dataset, labels, folderSplit, sink);
                else readJsonl(meta, base, dataset, labels, folderSplit, sink);
            } catch (MalformedInputException e) {
                sink.skip(Skip.BAD_UTF8); // the rest of this metadata file is lost
            }
        }
    }

    /** The split named by a folder on the way from the root to the metadata file, if any. */
    private static String folderSplit(Path rel) {
        for (Path part : rel) {
            try {
                if (RecordFields.split(part.toString()) != null) return part.toString();
            } catch (IllegalArgumentException e) {
                // not a split name
            }
        }
        return null;
    }

    private void readJsonl(Path meta, Path base, DatasetRoot dataset, List<String> labels, String folderSplit,
                           SourceSink sink) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(meta, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null && !sink.full()) {
                if (line.isBlank()) continue;
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (IOException e) {
                    sink.skip(Skip.BAD_JSON);
                    continue;
                }
                row(n, base, dataset, labels, folderSplit, sink);
            }
        }
    }

    private void readCsv(Path meta, Path base, DatasetRoot dataset, List<String> labels, String folderSplit,
                         SourceSink sink) throws IOException {
        CsvMapper csv = new CsvMapper();
        CsvSchema schema = CsvSchema.emptySchema().withHeader();
        try (BufferedReader in = Files.newBufferedReader(meta, StandardCharsets.UTF_8);
             MappingIterator<Map<String, String>> it = csv.readerFor(Map.class).with(schema).readValues(in)) {
            while (!sink.full()) {
                Map<String, String> row;
                try {
                    if (!it.hasNextValue()) break;
                    row = it.nextValue();
                } catch (IOException | RuntimeException e) {
                    sink.skip(Skip.BAD_CSV); // the parser cannot resynchronise: the rest of this file is lost
                    break;
                }
                ObjectNode n = JSON.createObjectNode();
                row.forEach((k, v) -> {
                    if (v != null && !v.isEmpty()) n.put(k.strip(), v);
                });
                // CSV labels are strings; an integer-looking one indexes labels.txt when there is one
                String label = n.has("label") ? n.get("label").asText() : null;
                n.remove("label");
                String resolved = RecordFields.label(label, labels);
                if (resolved == null) {
                    sink.skip(Skip.UNKNOWN_LABEL);
                    continue;
                }
                if (!resolved.isEmpty()) n.put("label", resolved);
                row(n, base, dataset, null, folderSplit, sink);
            }
        }
    }

    private void row(JsonNode n, Path base, DatasetRoot dataset, List<String> labels, String folderSplit, SourceSink sink) {
        RecordFields.Fields f = RecordFields.of(n, labels);
        if (f.skipReason() != null) {
            sink.skip(f.skipReason());
            return;
        }
        String fileName = n.hasNonNull("file_name") ? n.get("file_name").asText() : null;
        if (fileName == null) {
            sink.skip(Skip.UNRECOGNISED_RECORD);
            return;
        }
        String text = f.text().isEmpty() ? f.label() : f.text();
        if (text.isEmpty()) {
            sink.skip(Skip.MISSING_CAPTION);
            return;
        }
        Split split;
        try {
            split = RecordFields.split(f.split() != null ? f.split() : folderSplit);
        } catch (IllegalArgumentException e) {
            sink.skip(Skip.UNKNOWN_SPLIT);
            return;
        }
        if (sink.full(split)) return;
        ImageFiles.Decoded d = RecordFields.image(fileName, dataset, base, sink.imageSize());
        if (d.skipReason() != null) {
            sink.skip(d.skipReason());
            return;
        }
        String id = dataset.path().relativize(base.resolve(fileName).normalize()).toString().replace('\\', '/');
        sink.add(id, split, f.prompt(), text, f.label(), d.rgb());
    }
}
