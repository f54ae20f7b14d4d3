package m6j.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Bilingual (English/Chinese) byte-level BPE tokenizer, stored as a Hugging Face tokenizer.json.
 *
 * <p>Every byte has a token, so any valid Unicode string round-trips exactly:
 * {@code decode(encode(s)).equals(s)}. Input must be valid Unicode: an unpaired surrogate is
 * encoded as '?' (the JDK's UTF-8 replacement) and therefore does not round-trip.
 *
 * <p>Pre-tokenization isolates each CJK character (see {@link PreTokenizer}) and applies the GPT-2
 * regex elsewhere; the same pipeline is written to tokenizer.json so the Hugging Face
 * {@code tokenizers} library produces identical ids. One deliberate difference: {@link #encode}
 * treats special-token strings inside the text as plain text, whereas Hugging Face matches added
 * tokens in raw text. (Checked against the Rust library via its Node binding, tokenizers 0.23.2, and
 * against tokenizers.js: identical ids on ~4,000 English, Chinese and random Unicode strings.)
 *
 * <p>Instances are immutable apart from an internal per-pre-token cache and are thread-safe.
 */
public final class Tokenizer {
    public static final String PAD = "<pad>", BOS = "<bos>", EOS = "<eos>", SEP = "<sep>", MASK = "<mask>";

    private static final int CACHE_LIMIT = 1 << 18;   // pre-tokens; cleared when full
    private static final int CACHE_MAX_CHARS = 64;    // longer pre-tokens are rare; don't cache them
    private static final int HEAP_MERGE_BYTES = 64;   // above this, O(n log n) merging

    private final String[] tokens;
    private final boolean[] special;
    private final Map<String, Integer> specialIds = new LinkedHashMap<>();
    private final int[] byteIds = new int[256];
    private final byte[][] tokenBytes;
    private final long[] mergePairs;                  // rank -> (a << 32 | b)
    private final int[] mergeResult;                  // rank -> id of the merged token
    private final Map<Long, Integer> mergeRank;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param tokens     id -> token: special tokens verbatim, others in byte-level form
     * @param special    which ids are special
     * @param mergePairs merges in rank order as (leftId << 32 | rightId); the result is the token
     *                   whose string is the concatenation
     * @throws IllegalArgumentException if the pieces are inconsistent
     */
    Tokenizer(List<String> tokens, boolean[] special, long[] mergePairs) {
        int n = tokens.size();
        if (special.length != n) throw new IllegalArgumentException("special flags do not match vocab size");
        this.tokens = tokens.toArray(new String[0]);
        this.special = special.clone();
        this.tokenBytes = new byte[n][];
        Map<String, Integer> ids = new HashMap<>(n * 2);
        Arrays.fill(byteIds, -1);
        for (int id = 0; id < n; id++) {
            String t = this.tokens[id];
            if (t == null || t.isEmpty()) throw new IllegalArgumentException("empty token for id " + id);
            if (ids.put(t, id) != null) throw new IllegalArgumentException("duplicate token '" + t + "'");
            if (special[id]) {
                specialIds.put(t, id);
                continue;
            }
            byte[] b = ByteLevel.decode(t);
            if (b == null) throw new IllegalArgumentException("token " + id + " '" + t + "' is not byte-level");
            tokenBytes[id] = b;
            if (b.length == 1) byteIds[b[0] & 0xFF] = id;
        }
        for (int b = 0; b < 256; b++) {
            if (byteIds[b] < 0) throw new IllegalArgumentException("no token for byte " + b);
        }
        this.mergePairs = mergePairs.clone();
        this.mergeResult = new int[mergePairs.length];
        this.mergeRank = new HashMap<>(mergePairs.length * 2);
        for (int r = 0; r < mergePairs.length; r++) {
            int a = (int) (mergePairs[r] >>> 32), b = (int) mergePairs[r];
            if (a < 0 || a >= n || b < 0 || b >= n || special[a] || special[b]) {
                throw new IllegalArgumentException("merge " + r + " refers to an invalid or special token");
            }
            Integer c = ids.get(this.tokens[a] + this.tokens[b]);
            if (c == null || special[c]) {
                throw new IllegalArgumentException("merge " + r + " result '" + this.tokens[a] + this.tokens[b]
                        + "' is not a regular vocab token");
            }
            mergeResult[r] = c;
            // Hugging Face and GPT-2 disagree on which rank a repeated merge gets; avoid the question.
            if (mergeRank.put(mergePairs[r], r) != null) {
                throw new IllegalArgumentException("duplicate merge '" + this.tokens[a] + " " + this.tokens[b] + "'");
            }
        }
    }

    /** {@code [<pad>, <bos>, <eos>, <sep>, <mask>, <extra_id_0>, ..., <extra_id_{sentinels-1}>]}. */
    public static List<String> defaultSpecials(int sentinels) {
        if (sentinels < 0) throw new IllegalArgumentException("sentinels must be >= 0");
        List<String> out = new ArrayList<>(List.of(PAD, BOS, EOS, SEP, MASK));
        for (int i = 0; i < sentinels; i++) out.add("<extra_id_" + i + ">");
        return Collections.unmodifiableList(out);
    }

    /**
     * Trains byte-level BPE. Ids: specials first (in order), then the 256 bytes, then merges.
     * The result may be smaller than {@code vocabSize} if the corpus runs out of pairs.
     */
    public static Tokenizer train(Iterable<String> texts, int vocabSize, List<String> specials) {
        return BpeTrainer.train(texts, vocabSize, specials);
    }

    /** Encodes without adding special tokens; special-token strings in the text are plain text. */
    public int[] encode(String text) {
        IntBuf out = new IntBuf(Math.max(16, text.length() / 2));
        PreTokenizer.split(text, (s, start, end) -> {
            if (end - start > CACHE_MAX_CHARS) {
                out.addAll(bpe(s.substring(start, end).getBytes(StandardCharsets.UTF_8)));
                return;
            }
            String piece = s.substring(start, end);
            int[] ids = cache.get(piece);
            if (ids == null) {
                ids = bpe(piece.getBytes(StandardCharsets.UTF_8));
                if (cache.size() >= CACHE_LIMIT) cache.clear();
                cache.put(piece, ids);
            }
            out.addAll(ids);
        });
        return out.toArray();
    }

    /** BOS and the text's tokens: the prefix every text request and text input starts from. */
    public int[] encodeWithBos(String text) {
        int[] ids = encode(text), out = new int[ids.length + 1];
        out[0] = id(BOS);
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** Decodes, skipping special tokens. */
    public String decode(int[] ids) {
        return decode(ids, true);
    }

    /** Decodes; invalid UTF-8 (possible for arbitrary id sequences) becomes U+FFFD. */
    public String decode(int[] ids, boolean skipSpecials) {
        StringBuilder sb = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            checkId(id);
            if (special[id]) {
                if (skipSpecials) continue;
                sb.append(bytes.toString(StandardCharsets.UTF_8));
                bytes.reset();
                sb.append(tokens[id]);
            } else {
                bytes.write(tokenBytes[id], 0, tokenBytes[id].length);
            }
        }
        return sb.append(bytes.toString(StandardCharsets.UTF_8)).toString();
    }

    /** Id of a special token; throws IllegalArgumentException if it is not one of this tokenizer's specials. */
    public int id(String specialToken) {
        Integer id = specialIds.get(specialToken);
        if (id == null) throw new IllegalArgumentException("unknown special token: " + specialToken);
        return id;
    }

    /** Token string: specials verbatim, others in GPT-2 byte-level form (e.g. "Ġthe"). */
    public String token(int id) {
        checkId(id);
        return tokens[id];
    }

    /** A regular token's bytes (a copy), or null for a special token. */
    public byte[] bytes(int id) {
        checkId(id);
        return special[id] ? null : tokenBytes[id].clone();
    }

    public boolean isSpecial(int id) {
        checkId(id);
        return special[id];
    }

    public int vocabSize() {
        return tokens.length;
    }

    /** Special tokens in id order. */
    public List<String> specials() {
        return List.copyOf(specialIds.keySet());
    }

    /** Writes Hugging Face tokenizer.json atomically (temp file + rename). Output is deterministic. */
    public void save(Path tokenizerJson) throws IOException {
        TokenizerJson.write(this, tokenizerJson);
    }

    /** Reads a tokenizer.json written by {@link #save} (or an equivalent Hugging Face file). */
    public static Tokenizer load(Path tokenizerJson) throws IOException {
        return TokenizerJson.read(tokenizerJson);
    }

    // ---- package-private views for TokenizerJson ----

    List<String> tokens() {
        return List.of(tokens);
    }

    boolean[] specialFlags() {
        return special.clone();
    }

    long[] mergePairs() {
        return mergePairs.clone();
    }

    // ---- BPE ----

    private void checkId(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException("token id " + id + " out of range [0, " + tokens.length + ")");
        }
    }

    private int rank(int a, int b) {
        Integer r = mergeRank.get((long) a << 32 | (b & 0xFFFFFFFFL));
        return r == null ? -1 : r;
    }

    /** Applies merges by rank (lowest first, leftmost first within a rank) to one pre-token. */
    int[] bpe(byte[] bytes) {
        int[] sym = new int[bytes.length];
        for (int i = 0; i < sym.length; i++) sym[i] = byteIds[bytes[i] & 0xFF];
        return sym.length > HEAP_MERGE_BYTES ? mergeWithHeap(sym) : mergeByScan(sym);
    }

    /** Quadratic but allocation-free; best for the short pre-tokens that dominate text. */
    int[] mergeByScan(int[] sym) {
        int len = sym.length;
        while (len > 1) {
            int best = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < len; i++) {
                int r = rank(sym[i], sym[i + 1]);
                if (r >= 0 && r < best) best = r;
            }
            if (best == Integer.MAX_VALUE) break;
            int a = (int) (mergePairs[best] >>> 32), b = (int) mergePairs[best], c = mergeResult[best];
            int out = 0;
            for (int i = 0; i < len; ) {
                if (i + 1 < len && sym[i] == a && sym[i + 1] == b) {
                    sym[out++] = c;
                    i += 2;
                } else {
                    sym[out++] = sym[i++];
                }
            }
            len = out;
        }
        return len == sym.length ? sym : Arrays.copyOf(sym, len);
    }

    /** Same result as {@link #mergeByScan} in O(n log n), for long pre-tokens (e.g. long digit runs). */
    int[] mergeWithHeap(int[] sym) {
        int n = sym.length;
        int[] prev = new int[n], next = new int[n];
        PriorityQueue<Long> heap = new PriorityQueue<>(); // (rank << 32 | position)
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1;
            if (i + 1 < n) push(heap, rank(sym[i], sym[i + 1]), i);
        }
        while (!heap.isEmpty()) {
            long e = heap.poll();
            int r = (int) (e >>> 32), i = (int) e, j = next[i];
            if (sym[i] < 0 || j >= n || rank(sym[i], sym[j]) != r) continue; // stale entry
            sym[i] = mergeResult[r];
            sym[j] = -1;
            next[i] = next[j];
            if (next[i] < n) prev[next[i]] = i;
            if (prev[i] >= 0) push(heap, rank(sym[prev[i]], sym[i]), prev[i]);
            if (next[i] < n) push(heap, rank(sym[i], sym[next[i]]), i);
        }
        IntBuf out = new IntBuf(n);
        for (int i = 0; i < n; i = next[i]) out.add(sym[i]);
        return out.toArray();
    }

    private static void push(PriorityQueue<Long> heap, int rank, int pos) {
        if (rank >= 0) heap.add((long) rank << 32 | pos);
    }

    /** Growable int array. */
    static final class IntBuf {
        private int[] a;
        private int n;

        IntBuf(int capacity) {
            a = new int[Math.max(1, capacity)];
        }

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        void addAll(int[] v) {
            if (n + v.length > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, n + v.length));
            System.arraycopy(v, 0, a, n, v.length);
            n += v.length;
        }

        int size() {
            return n;
        }

        int get(int i) {
            return a[i];
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
