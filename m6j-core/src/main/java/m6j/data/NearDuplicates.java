package m6j.data;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Arrays;

/**
 * Exact and near-duplicate detection over a stream of documents, in memory that grows by a few 64-bit keys per
 * kept document: exact duplicates by a hash of the normalised text (lower case, whitespace collapsed); near
 * duplicates by MinHash over word 5-shingles (character 5-grams for text without spaces, such as Chinese) with
 * locality-sensitive hashing, {@value #BANDS} bands of {@value #ROWS} rows: a document sharing any band with an
 * earlier kept one is a near duplicate. Jaccard similarity 0.8 is caught with probability ~0.98, 0.5 with ~0.06.
 */
final class NearDuplicates {
    static final int BANDS = 16, ROWS = 8, SHINGLE = 5;
    private static final int HASHES = BANDS * ROWS;
    private final long[] seeds = new long[HASHES];
    private final LongSet exact = new LongSet();
    private final LongSet bands = new LongSet();

    enum Verdict { NEW, EXACT, NEAR }

    NearDuplicates(long seed) {
        long s = seed ^ 0x9E3779B97F4A7C15L;
        for (int i = 0; i < HASHES; i++) {
            s += 0x9E3779B97F4A7C15L;
            seeds[i] = mix(s);
        }
    }

    /** Classifies text against the documents seen so far and, when NEW, remembers it. */
    Verdict add(String text) {
        String norm = text.toLowerCase(Locale.ROOT).replaceAll("\\s+", " ").strip();
        if (!exact.add(CorpusBuilder.hash64(norm.getBytes(StandardCharsets.UTF_8)))) return Verdict.EXACT;
        long[] sig = signature(norm);
        long[] keys = new long[BANDS];
        boolean seen = false;
        for (int b = 0; b < BANDS; b++) {
            long h = 0x243F6A8885A308D3L + b;
            for (int r = 0; r < ROWS; r++) h = mix(h * 31 + sig[b * ROWS + r]);
            keys[b] = h;
            if (bands.contains(h)) seen = true;
        }
        if (seen) return Verdict.NEAR;
        for (long k : keys) bands.add(k);
        return Verdict.NEW;
    }

    private long[] signature(String norm) {
        long[] sig = new long[HASHES];
        Arrays.fill(sig, Long.MAX_VALUE);
        String[] words = norm.split(" ");
        boolean spaced = words.length >= SHINGLE * 2;
        int n = spaced ? words.length - SHINGLE + 1 : Math.max(1, norm.length() - SHINGLE + 1);
        for (int i = 0; i < n; i++) {
            String sh;
            if (spaced) sh = String.join(" ", Arrays.asList(words).subList(i, i + SHINGLE));
            else sh = norm.substring(i, Math.min(norm.length(), i + SHINGLE));
            long base = mix(sh.hashCode() * 0x9E3779B97F4A7C15L + sh.length());
            for (int k = 0; k < HASHES; k++) {
                long v = mix(base ^ seeds[k]);
                if (v < sig[k]) sig[k] = v;
            }
        }
        return sig;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
