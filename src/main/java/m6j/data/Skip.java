package m6j.data;

/** Skip reasons as they appear in corpus.json; shared so tests and tools can match them. */
public final class Skip {
    public static final String NOT_INSTALLED = SourceStats.NOT_INSTALLED;
    public static final String CORRUPT_IMAGE = "corrupt or truncated image";
    public static final String TOO_LARGE_IMAGE = "image too large";
    public static final String NOT_AN_IMAGE = "not an image";
    public static final String MISSING_IMAGE = "missing image file";
    public static final String BAD_UTF8 = "bad UTF-8";
    public static final String TRUNCATED_IDX = "truncated IDX";
    public static final String BAD_IDX_HEADER = "bad IDX header";
    public static final String MISSING_FILE = "missing file";
    public static final String BAD_JSON = "unparsable JSON";
    public static final String TOO_LONG = "too long";
    public static final String EMPTY_TEXT = "empty text";
    public static final String DUPLICATE_ID = "duplicate id";
    public static final String READ_ERROR = "read error";

    private Skip() {}
}
