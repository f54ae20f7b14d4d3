package m6j.data;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.Locale;

/**
 * Where a record came from: an open identity, {@link #id()} being the stable name used in shards, corpus.json and
 * reports. The built-in sources are constants; a user's dataset is a source named after its folder or file
 * ({@link #userId}).
 *
 * @param hasImages true when the source's records carry images (for a user source: when any record did)
 */
public record Source(String id, boolean hasImages) {
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    public static final Source FASHION_MNIST = new Source("fashion-mnist", true);
    public static final Source OPENCLIPART = new Source("openclipart", true);
    public static final Source TWEMOJI = new Source("twemoji", true);
    public static final Source BROWN = new Source("brown", false);
    public static final Source FORTUNES_EN = new Source("fortunes", false);
    public static final Source FORTUNES_ZH = new Source("fortunes-zh", false);
    public static final Source CHINESE_POETRY = new Source("chinese-poetry", false);

    private static final List<Source> BUILT_IN = List.of(FASHION_MNIST, OPENCLIPART, TWEMOJI, BROWN, FORTUNES_EN,
            FORTUNES_ZH, CHINESE_POETRY);

    public Source {
        Objects.requireNonNull(id, "id");
        if (!ID.matcher(id).matches()) throw new IllegalArgumentException("bad source id '" + id + "' (want " + ID + ")");
    }

    /** The built-in sources, in build order (an array so that enum-era callers keep compiling). */
    public static Source[] values() { return BUILT_IN.toArray(new Source[0]); }

    public static List<Source> builtIns() { return BUILT_IN; }

    public boolean builtIn() { return BUILT_IN.contains(this); }

    /** A built-in source by id; unknown ids are an error (user sources are not known by id alone). */
    public static Source byId(String id) {
        for (Source s : BUILT_IN) {
            if (s.id.equals(id)) return s;
        }
        throw new IllegalArgumentException("unknown source id: " + id);
    }

    /** The built-in constant when the id is a built-in one, else a user source. */
    public static Source of(String id, boolean hasImages) {
        for (Source s : BUILT_IN) {
            if (s.id.equals(id)) return s;
        }
        return new Source(id, hasImages);
    }

    /** A valid source id from a file or folder name: lower case, other characters to '-', extensions dropped. */
    public static String userId(String fileName) {
        String n = fileName.toLowerCase(Locale.ROOT);
        for (String ext : new String[]{".warc.gz", ".tar.gz", ".jsonl", ".json", ".warc", ".tgz", ".tar", ".csv"}) {
            if (n.endsWith(ext) && n.length() > ext.length()) {
                n = n.substring(0, n.length() - ext.length());
                break;
            }
        }
        n = n.replaceAll("[^a-z0-9._-]+", "-").replaceAll("^[^a-z0-9]+", "");
        if (n.isEmpty()) n = "data";
        return n.length() > 64 ? n.substring(0, 64) : n;
    }
}
