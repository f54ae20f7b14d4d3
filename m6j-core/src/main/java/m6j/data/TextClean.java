package m6j.data;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.regex.Pattern;

/** Text normalisation shared by all readers: strict UTF-8, NFC, no control characters, tidy whitespace. */
public final class TextClean {
    private static final Pattern ANSI = Pattern.compile("\u001B\\[[0-9;?]*[ -/]*[@-~]|\u001B[@-Z\\\\-_]");

    private TextClean() {}

    /** Strict decoding: malformed input is an error (the record is then skipped), never replaced by U+FFFD. */
    public static String decodeStrict(byte[] bytes) throws CharacterCodingException {
        return decodeStrict(ByteBuffer.wrap(bytes));
    }

    public static String decodeStrict(ByteBuffer bytes) throws CharacterCodingException {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CharBuffer chars = d.decode(bytes);
        String s = chars.toString();
        // A leading BOM is an encoding artefact, not text.
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }

    public static String stripAnsi(String s) {
        return ANSI.matcher(s).replaceAll("");
    }

    /**
     * NFC; drops control characters except newline; any other whitespace becomes one space; each line trimmed;
     * at most one blank line in a row; whole text trimmed.
     */
    public static String clean(String s) {
        s = Normalizer.normalize(s.replace("\r\n", "\n").replace('\r', '\n'), Normalizer.Form.NFC);
        StringBuilder b = new StringBuilder(s.length());
        int newlines = 0;
        boolean pendingSpace = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == '\n') {
                pendingSpace = false;
                newlines++;
                continue;
            }
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                pendingSpace = true;
                continue;
            }
            if (Character.getType(cp) == Character.CONTROL) continue;
            if (b.length() > 0) {
                if (newlines > 0) b.append(newlines > 1 ? "\n\n" : "\n");
                else if (pendingSpace) b.append(' ');
            }
            newlines = 0;
            pendingSpace = false;
            b.appendCodePoint(cp);
        }
        return b.toString();
    }

    /** {@link #clean} folded onto one line. */
    public static String oneLine(String s) {
        return clean(s.replace('\n', ' ').replace('\r', ' '));
    }
}
