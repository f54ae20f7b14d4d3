package m6j.data;

/** The real data sources a corpus is built from; {@link #id()} is the stable name used in files and reports. */
public enum Source {
    FASHION_MNIST("fashion-mnist", true),
    OPENCLIPART("openclipart", true),
    TWEMOJI("twemoji", true),
    BROWN("brown", false),
    FORTUNES_EN("fortunes", false),
    FORTUNES_ZH("fortunes-zh", false),
    CHINESE_POETRY("chinese-poetry", false);

    private final String id;
    private final boolean hasImages;

    Source(String id, boolean hasImages) {
        this.id = id;
        this.hasImages = hasImages;
    }

    public String id() { return id; }

    public boolean hasImages() { return hasImages; }

    public static Source byId(String id) {
        for (Source s : values()) {
            if (s.id.equals(id)) return s;
        }
        throw new IllegalArgumentException("unknown source id: " + id);
    }
}
