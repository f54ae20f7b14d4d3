package m6j.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;


/**
 * A user's datasets, one source each: the format of each path (detected, or given), the source's name (its
 * folder or file name; tars of one folder are one source) and its reader. Detection rules are in docs/DATA.md.
 */
public final class UserSources {
    public static final String AUTO = "auto", IMAGEFOLDER = "imagefolder", WEBDATASET = "webdataset", JSONL = "jsonl",
            WARC = "warc";
    public static final List<String> FORMATS = List.of(AUTO, IMAGEFOLDER, WEBDATASET, JSONL, WARC);

    private UserSources() {}

    /** The format of path under the detection rules; an IllegalArgumentException says why none applies. */
    public static String detect(Path path) {
        if (!Files.exists(path)) throw new IllegalArgumentException("no such file or directory: " + path);
        String n = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (Files.isRegularFile(path)) {
            if (n.equals("metadata.jsonl") || n.equals("metadata.csv")) return IMAGEFOLDER;
            if (WebDatasetReader.isTar(path)) return WEBDATASET;
            if (WebArchiveReader.isWarc(path)) return WARC;
            if (n.endsWith(".jsonl") || n.endsWith(".json")) return JSONL;
            throw new IllegalArgumentException("cannot tell the format of " + path
                    + " (want metadata.jsonl/.csv, .tar, .warc[.gz] or .jsonl; or give --format)");
        }
        try {
            if (!ImageFolderReader.metadataFiles(path).isEmpty()) return IMAGEFOLDER;
            if (!WebDatasetReader.tars(path).isEmpty()) return WEBDATASET;
            if (!WebArchiveReader.archives(path).isEmpty()) return WARC;
            if (!JsonlReader.files(path).isEmpty()) return JSONL;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path, e);
        }
        throw new IllegalArgumentException("cannot tell the format of folder " + path
                + ": it has no metadata.jsonl/metadata.csv, *.tar, *.warc[.gz] or *.jsonl (or give --format)");
    }

    /** One reader per source; paths that name the same source (tars or archives of one folder) share it. */
    public static List<SourceReader> readers(List<Path> paths, String format) {
        if (!FORMATS.contains(format)) throw new IllegalArgumentException("unknown format " + format + "; known: " + FORMATS);
        Map<String, List<Path>> byName = new LinkedHashMap<>();
        Map<String, String> formats = new LinkedHashMap<>();
        for (Path p : paths) {
            if (!Files.exists(p)) throw new IllegalArgumentException("no such file or directory: " + p);
            String f = format.equals(AUTO) ? detect(p) : format;
            if (!format.equals(AUTO) && Files.isDirectory(p) && !holds(p, f)) {
                throw new IllegalArgumentException("folder " + p + " holds no " + f + " files (" + WANTS.get(f) + ")");
            }
            String name = name(p.toAbsolutePath().normalize(), f);
            String key = f + "\u0000" + name;
            byName.computeIfAbsent(key, k -> new ArrayList<>()).add(p);
            formats.put(key, f);
        }
        Set<String> taken = new HashSet<>();
        for (Source s : Source.builtIns()) taken.add(s.id());
        List<SourceReader> out = new ArrayList<>();
        for (Map.Entry<String, List<Path>> e : byName.entrySet()) {
            String f = formats.get(e.getKey());
            String base = e.getKey().substring(e.getKey().indexOf('\u0000') + 1), id = base;
            for (int i = 2; !taken.add(id); i++) id = base + "-" + i;
            List<Path> ps = e.getValue();
            out.add(switch (f) {
                case IMAGEFOLDER -> {
                    if (ps.size() > 1) throw new IllegalArgumentException("one image folder per path: " + ps);
                    yield new ImageFolderReader(new Source(id, true), ps.get(0));
                }
                case WEBDATASET -> new WebDatasetReader(new Source(id, true), ps);
                case WARC -> new WebArchiveReader(new Source(id, true), ps);
                default -> {
                    if (ps.size() > 1) throw new IllegalArgumentException("one JSONL source per path: " + ps);
                    yield new JsonlReader(new Source(id, false), ps.get(0));
                }
            });
        }
        return out;
    }

    private static final Map<String, String> WANTS = Map.of(IMAGEFOLDER, "metadata.jsonl or metadata.csv",
            WEBDATASET, "*.tar, *.tar.gz, *.tgz", WARC, "*.warc, *.warc.gz", JSONL, "*.jsonl");

    /** Whether folder dir has files that format reads (a file given with --format is read as that format). */
    private static boolean holds(Path dir, String format) {
        try {
            return switch (format) {
                case IMAGEFOLDER -> !ImageFolderReader.metadataFiles(dir).isEmpty();
                case WEBDATASET -> !WebDatasetReader.tars(dir).isEmpty();
                case WARC -> !WebArchiveReader.archives(dir).isEmpty();
                default -> !JsonlReader.files(dir).isEmpty();
            };
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /**
     * A folder is named after itself; a file after its name, except metadata.* (its folder's name) and tars or
     * archives (their folder's name, so that shards 00000.tar, 00001.tar ... are one source).
     */
    static String name(Path p, String format) {
        Path named = p;
        if (Files.isRegularFile(p)) {
            String n = p.getFileName().toString();
            if (n.startsWith("metadata.") || format.equals(WEBDATASET) || format.equals(WARC)) named = p.getParent();
        }
        if (named == null || named.getFileName() == null) return "data";
        return Source.userId(named.getFileName().toString());
    }

}
