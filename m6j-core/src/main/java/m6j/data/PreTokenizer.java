package m6j.data;

/**
 * Splits text into pre-tokens; BPE merges never cross a pre-token boundary.
 *
 * <p>Two stages, mirroring the Hugging Face pipeline written to tokenizer.json:
 * <ol>
 *   <li>{@code Split(ISOLATED_REGEX, "Isolated")}: every CJK ideograph, kana, hangul and CJK/full-width
 *       punctuation character becomes its own pre-token, so Chinese ends up (near) char-level as in M6.</li>
 *   <li>{@code ByteLevel(use_regex=true)} on the remaining stretches: the GPT-2 pattern
 *       {@value #GPT2_REGEX}.</li>
 * </ol>
 * Stage 2 is a hand-written scanner (several times faster than java.util.regex); the tests check it
 * against {@link #GPT2_REGEX} compiled with {@code UNICODE_CHARACTER_CLASS}.
 */
final class PreTokenizer {
    /** Pattern of the Hugging Face ByteLevel pre-tokenizer (Oniguruma; \s = Unicode White_Space). */
    static final String GPT2_REGEX =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    /**
     * Code-point ranges isolated in stage 1. Explicit ranges rather than \p{Han} so Java, Oniguruma
     * (Rust tokenizers) and JavaScript agree regardless of their Unicode versions.
     */
    private static final int[][] ISOLATED = {
            {0x1100, 0x11FF},   // Hangul Jamo
            {0x2E80, 0x2FDF},   // CJK radicals, Kangxi radicals
            {0x3000, 0x303F},   // CJK symbols and punctuation (、。「」 and the ideographic space)
            {0x3040, 0x30FF},   // Hiragana, Katakana
            {0x3100, 0x31FF},   // Bopomofo, Hangul compatibility jamo, Kanbun, CJK strokes, Katakana ext.
            {0x3200, 0x4DBF},   // enclosed CJK, CJK compatibility, CJK ext. A
            {0x4E00, 0x9FFF},   // CJK unified ideographs
            {0xA960, 0xA97F},   // Hangul Jamo ext. A
            {0xAC00, 0xD7FF},   // Hangul syllables, Jamo ext. B
            {0xF900, 0xFAFF},   // CJK compatibility ideographs
            {0xFE30, 0xFE4F},   // CJK compatibility forms
            {0xFF00, 0xFFEF},   // full-width and half-width forms (，！？（）)
            {0x20000, 0x3FFFF}, // planes 2 and 3: CJK ext. B-H, compatibility supplement
    };

    /** Character class for stage 1, in syntax that Oniguruma, Java and tokenizers.js all accept. */
    static final String ISOLATED_REGEX = isolatedRegex();

    /** Receives pre-tokens as [start, end) char ranges of the input. */
    interface Sink {
        void piece(String text, int start, int end);
    }

    private static final byte WS = 0, LETTER = 1, NUMBER = 2, OTHER = 3;
    private static final byte[] ASCII = new byte[128];

    static {
        for (int c = 0; c < 128; c++) ASCII[c] = classify(c);
    }

    private PreTokenizer() {}

    static void split(String text, Sink sink) {
        int n = text.length();
        int segStart = 0;
        for (int i = 0; i < n; ) {
            int cp = text.codePointAt(i);
            int len = Character.charCount(cp);
            if (cp >= 0x1100 && isIsolated(cp)) {
                if (segStart < i) scan(text, segStart, i, sink);
                sink.piece(text, i, i + len);
                segStart = i + len;
            }
            i += len;
        }
        if (segStart < n) scan(text, segStart, n, sink);
    }

    static boolean isIsolated(int cp) {
        for (int[] r : ISOLATED) {
            if (cp < r[0]) return false;
            if (cp <= r[1]) return true;
        }
        return false;
    }

    /** GPT-2 pattern over text[start, end), which contains no isolated characters. */
    private static void scan(String text, int start, int end, Sink sink) {
        for (int i = start; i < end; ) {
            int j = matchAt(text, i, end);
            sink.piece(text, i, j);
            i = j;
        }
    }

    /** End of the GPT-2 regex match starting at i (the regex alternatives, in order). */
    private static int matchAt(String s, int i, int end) {
        char c0 = s.charAt(i);
        if (c0 == '\'' && i + 1 < end) { // 's|'t|'re|'ve|'m|'ll|'d
            char a = s.charAt(i + 1);
            if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
            if (i + 2 < end) {
                char b = s.charAt(i + 2);
                if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
            }
        }
        int k = i; // start of the run; a single leading space may attach to a letter/number/other run
        if (c0 == ' ' && i + 1 < end && classOf(s.codePointAt(i + 1)) != WS) k = i + 1;
        int cls = classOf(s.codePointAt(k));
        if (cls != WS) {
            int j = k;
            while (j < end) {
                int cp = s.codePointAt(j);
                if (classOf(cp) != cls) break;
                j += Character.charCount(cp);
            }
            return j;
        }
        // \s+(?!\S)|\s+ : a whitespace run gives back its last char when followed by non-space,
        // so that char can lead the next word (" world"). Whitespace is all in the BMP.
        int j = i;
        while (j < end && classOf(s.codePointAt(j)) == WS) j++;
        return (j == end || j - i == 1) ? j : j - 1;
    }

    private static int classOf(int cp) {
        return cp < 128 ? ASCII[cp] : classify(cp);
    }

    private static byte classify(int cp) {
        if (isWhiteSpace(cp)) return WS;
        if (Character.isLetter(cp)) return LETTER;
        int t = Character.getType(cp);
        if (t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER) {
            return NUMBER;
        }
        return OTHER;
    }

    /** Unicode White_Space property (what Oniguruma's and Java's Unicode \s match). */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    private static String isolatedRegex() {
        StringBuilder sb = new StringBuilder("[");
        for (int[] r : ISOLATED) {
            sb.append(String.format("\\x{%X}-\\x{%X}", r[0], r[1]));
        }
        return sb.append(']').toString();
    }
}
