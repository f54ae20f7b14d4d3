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
    // user datasets (docs/DATA.md)
    public static final String UNSUPPORTED_IMAGE = "unsupported image format";
    public static final String SMALL_IMAGE = "image too small";
    public static final String PATH_ESCAPE = "path escapes dataset root";
    public static final String MISSING_CAPTION = "missing caption";
    public static final String UNKNOWN_LABEL = "unknown label";
    public static final String UNKNOWN_SPLIT = "unknown split";
    public static final String UNRECOGNISED_RECORD = "unrecognised record";
    public static final String REMOTE_IMAGE = "remote image URL";
    public static final String BAD_BASE64 = "bad base64 image";
    public static final String CORRUPT_TAR = "corrupt or truncated tar";
    public static final String TOO_LARGE_ENTRY = "tar entry too large";
    public static final String BAD_CSV = "unparsable CSV";
    // web archives
    public static final String CORRUPT_WARC = "corrupt or truncated WARC";
    public static final String PAGE_TOO_SHORT = "page text too short";
    public static final String WRONG_SCRIPT = "script/language";
    public static final String BOILERPLATE = "boilerplate";
    public static final String EXACT_DUPLICATE = "exact duplicate";
    public static final String NEAR_DUPLICATE = "near duplicate";
    public static final String DUPLICATE_IMAGE = "duplicate image";
    public static final String IMAGE_NOT_IN_ARCHIVE = "image not in archive";

    private Skip() {}
}
