package m6j.data;

import m6j.runtime.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.Locale;

/**
 * WebDataset tar shards as img2dataset writes them: consecutive entries sharing a key (the path up to the first
 * dot of the file name) form a sample, KEY.jpg|jpeg|png|webp|gif|bmp + KEY.txt (caption) and/or KEY.json
 * ("caption" or "text", optional "label", "prompt", "split") and optionally KEY.cls (label). Tars are read as
 * streams, one sample in memory at a time; .tar.gz / .tgz are decompressed on the fly. A tar that cannot be read
 * on (bad header, truncated) counts one {@link Skip#CORRUPT_TAR} and the next tar is read.
 */
final class WebDatasetReader implements SourceReader {
    private static final ObjectMapper JSON = Json.MAPPER;
    static final Set<String> IMAGE_EXT = Set.of("jpg", "jpeg", "png", "webp", "gif", "bmp");
    private static final Set<String> KEEP_EXT = Set.of("jpg", "jpeg", "png", "webp", "gif", "bmp", "txt", "json", "cls");
    /** Entries above this are not read (an encoded image or caption file). */
    static final long MAX_ENTRY_BYTES = 32L << 20;

    private final Source source;
    private final List<Path> paths;

    WebDatasetReader(Source source, List<Path> paths) {
        this.source = source;
        this.paths = List.copyOf(paths);
    }

    @Override public Source source() { return source; }

    static boolean isTar(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".tar") || n.endsWith(".tar.gz") || n.endsWith(".tgz");
    }

    static List<Path> tars(Path p) throws IOException {
        if (Files.isRegularFile(p)) return List.of(p);
        try (Stream<Path> s = Files.list(p)) {
            return s.filter(x -> isTar(x) && Files.isRegularFile(x)).sorted().toList();
        }
    }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        for (Path p : paths) {
            if (!Files.exists(p)) {
                sink.notInstalled();
                return;
            }
        }
        for (Path p : paths) {
            for (Path tar : tars(p)) {
                if (sink.full()) return;
                readTar(tar, sink);
            }
        }
    }

    private void readTar(Path tar, SourceSink sink) throws IOException {
        String tarName = tar.getFileName().toString();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(tar), 1 << 16);
             InputStream in = tarName.endsWith("gz") ? new GzipCompressorInputStream(raw) : raw;
             TarArchiveInputStream t = new TarArchiveInputStream(in)) {
            String key = null;
            Map<String, byte[]> parts = new HashMap<>();
            boolean oversize = false;
            int entries = 0;
            while (!sink.full()) {
                TarArchiveEntry e;
                try {
                    e = t.getNextEntry();
                } catch (IOException | RuntimeException ex) {
                    sink.skip(Skip.CORRUPT_TAR); // the sample being read is lost with the rest of this tar
                    return;
                }
                if (e == null) {
                    // a non-empty file that holds no entry is not a tar (commons-compress reads a short one as EOF)
                    if (entries == 0 && Files.size(tar) > 0) sink.skip(Skip.CORRUPT_TAR);
                    break;
                }
                entries++;
                if (!e.isFile()) continue;
                String name = e.getName();
                int slash = name.lastIndexOf('/');
                int dot = name.indexOf('.', slash + 1);
                if (dot <= slash + 1) continue; // no key or no extension: not part of a sample
                String k = name.substring(0, dot), ext = name.substring(dot + 1).toLowerCase(Locale.ROOT);
                if (!k.equals(key)) {
                    if (key != null) sample(tarName, key, parts, oversize, sink);
                    key = k;
                    parts.clear();
                    oversize = false;
                }
                if (!KEEP_EXT.contains(ext)) continue;
                if (e.getSize() > MAX_ENTRY_BYTES) {
                    oversize = true;
                    continue;
                }
                try {
                    parts.put(ext, t.readNBytes((int) e.getSize()));
                } catch (IOException ex) {
                    sink.skip(Skip.CORRUPT_TAR);
                    return;
                }
                if (parts.get(ext).length != e.getSize()) {
                    sink.skip(Skip.CORRUPT_TAR);
                    return;
                }
            }
            if (key != null && !sink.full()) sample(tarName, key, parts, oversize, sink);
        } catch (IOException ex) {
            sink.skip(Skip.CORRUPT_TAR); // e.g. not gzip at all
        }
    }

    private void sample(String tarName, String key, Map<String, byte[]> parts, boolean oversize, SourceSink sink) {
        if (oversize) {
            sink.skip(Skip.TOO_LARGE_ENTRY);
            return;
        }
        byte[] img = null;
        for (String ext : List.of("jpg", "jpeg", "png", "webp", "gif", "bmp")) {
            if (parts.containsKey(ext)) {
                img = parts.get(ext);
                break;
            }
        }
        if (img == null) {
            sink.skip(Skip.MISSING_IMAGE);
            return;
        }
        RecordFields.Fields f = new RecordFields.Fields("", "", "", null, null, null);
        if (parts.containsKey("json")) {
            JsonNode n;
            try {
                n = JSON.readTree(TextClean.decodeStrict(parts.get("json")));
            } catch (IOException ex) {
                sink.skip(Skip.BAD_JSON);
                return;
            }
            f = RecordFields.of(n, null);
            if (f.skipReason() != null) {
                sink.skip(f.skipReason());
                return;
            }
        }
        String text = f.text(), label = f.label();
        try {
            if (parts.containsKey("txt")) text = TextClean.decodeStrict(parts.get("txt")).strip();
            if (parts.containsKey("cls")) label = TextClean.decodeStrict(parts.get("cls")).strip();
        } catch (CharacterCodingException ex) {
            sink.skip(Skip.BAD_UTF8);
            return;
        }
        if (text.isEmpty()) text = label;
        if (text.isEmpty()) {
            sink.skip(Skip.MISSING_CAPTION);
            return;
        }
        if (text.length() > RecordFields.MAX_TEXT_CHARS) {
            sink.skip(Skip.TOO_LONG);
            return;
        }
        Split split;
        try {
            split = RecordFields.split(f.split());
        } catch (IllegalArgumentException ex) {
            sink.skip(Skip.UNKNOWN_SPLIT);
            return;
        }
        if (sink.full(split)) return;
        ImageFiles.Decoded d = ImageFiles.decode(img, sink.imageSize(), 1);
        if (d.skipReason() != null) {
            sink.skip(d.skipReason());
            return;
        }
        sink.add(tarName + "/" + key, split, f.prompt(), text, label, d.rgb());
    }
}
