package m6j.task;

import m6j.data.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Builds {@link Sequence}s for each objective from token ids; all randomness comes from the caller's Random. */
public final class Sequences {
    private final int bos, eos, sep, maxLen;
    private final int[] sentinels;

    public Sequences(Tokenizer tok, int maxLen, int sentinelCount) {
        this.bos = tok.id(Tokenizer.BOS);
        this.eos = tok.id(Tokenizer.EOS);
        this.sep = tok.id(Tokenizer.SEP);
        this.maxLen = maxLen;
        sentinels = new int[sentinelCount];
        for (int i = 0; i < sentinelCount; i++) sentinels[i] = tok.id("<extra_id_" + i + ">");
    }

    /** [BOS] + target: BOS and every target token predict the next one, the last predicts EOS. */
    public Sequence caption(int[] caption) {
        return withPrefix(new int[]{bos}, clip(caption, maxLen - 1));
    }

    /** Image + [BOS corrupted SEP] -> the full caption. */
    Sequence maskedCaption(int[] caption, Random rng) {
        int[] c = clip(caption, (maxLen - 2) / 2);
        int[] corrupted = corrupt(c, rng, null);
        return withPrefix(concat(new int[]{bos}, corrupted, new int[]{sep}), c);
    }

    /** T5-style span corruption: [BOS corrupted SEP] -> [s0 span0 s1 span1 ...]. */
    Sequence denoise(int[] text, Random rng) {
        int[] t = crop(text, (maxLen * 3) / 5, rng);
        List<Integer> spans = new ArrayList<>();
        int[] corrupted = corrupt(t, rng, spans);
        int[] target = spans.stream().mapToInt(Integer::intValue).toArray();
        int room = maxLen - corrupted.length - 2;
        return withPrefix(concat(new int[]{bos}, corrupted, new int[]{sep}), clip(target, Math.max(1, room - 1)));
    }

    /** Prefix LM: a random share of the text (none half the time) is read bidirectionally, the rest predicted. */
    Sequence lm(int[] text, Random rng) {
        int[] t = crop(text, maxLen - 1, rng);
        int k = rng.nextBoolean() ? 0 : rng.nextInt(Math.max(1, t.length / 2) + 1);
        int[] in = concat(new int[]{bos}, t);
        int[] tgt = new int[in.length];
        for (int j = 0; j < in.length; j++) tgt[j] = j < k ? -1 : (j + 1 < in.length ? in[j + 1] : eos);
        return new Sequence(in, k + 1, tgt);
    }

    /**
     * Text -> image codes: [BOS caption <pad>... SEP] of exactly promptLen positions (read bidirectionally), then the
     * image's codes (token ids, already offset past the text vocabulary) predicted left to right, the last one EOS.
     * The fixed prompt length puts every code at the same text position. A null caption is the empty prompt of
     * classifier-free guidance.
     */
    public Sequence imageCodes(int[] caption, int[] codeIds, int promptLen) {
        int[] prefix = new int[promptLen];                         // <pad> is id 0
        prefix[0] = bos;
        if (caption != null) System.arraycopy(caption, 0, prefix, 1, Math.min(caption.length, promptLen - 2));
        prefix[promptLen - 1] = sep;
        if (promptLen + codeIds.length > maxLen)
            throw new IllegalArgumentException("a prompt of " + promptLen + " and " + codeIds.length + " image codes do not fit the model's "
                    + maxLen + " text positions: use a preset with maxTextLen >= " + (promptLen + codeIds.length) + " (e.g. tiny-t2i)");
        return withPrefix(prefix, codeIds);
    }

    /** Image + [BOS question] (read bidirectionally) -> the answer: what a chat turn with an image and a question is. */
    Sequence answer(int[] question, int[] answer) {
        int[] q = clip(question, maxLen / 2);
        return withPrefix(concat(new int[]{bos}, q), clip(answer, Math.max(1, maxLen - q.length - 2)));
    }

    /** [BOS text SEP] (read bidirectionally, after the image if any) -> the label's words: classification by label words. */
    public Sequence classify(int[] text, int[] label) {
        int[] l = clip(label, Math.max(1, maxLen / 4));
        return withPrefix(concat(new int[]{bos}, clip(text, Math.max(1, maxLen - l.length - 3)), new int[]{sep}), l);
    }

    /** Causal LM over the whole text with only BOS as prefix: what perplexity is measured on. */
    public Sequence plainLm(int[] text) {
        return withPrefix(new int[]{bos}, clip(text, maxLen - 1));
    }

    private Sequence withPrefix(int[] prefix, int[] target) {
        int[] in = concat(prefix, target);
        if (in.length > maxLen) in = Arrays.copyOf(in, maxLen);
        int[] tgt = new int[in.length];
        for (int j = 0; j < in.length; j++) tgt[j] = j < prefix.length - 1 ? -1 : (j + 1 < in.length ? in[j + 1] : eos);
        return new Sequence(in, prefix.length, tgt);
    }

    /** Replaces ~15% of tokens, in spans of mean length 3, by sentinels; the dropped spans go to out (if not null). */
    private int[] corrupt(int[] t, Random rng, List<Integer> out) {
        int n = t.length;
        boolean[] masked = new boolean[n];
        int want = Math.max(1, Math.round(n * 0.15f));
        int spans = 0, covered = 0;
        while (covered < want && spans < sentinels.length && n > 1) {
            int len = 1 + rng.nextInt(5);
            int start = rng.nextInt(n);
            for (int i = start; i < Math.min(n, start + len); i++) if (!masked[i]) { masked[i] = true; covered++; }
            spans++;
        }
        List<Integer> src = new ArrayList<>();
        int s = 0;
        for (int i = 0; i < n; i++) {
            if (masked[i]) {
                if (i == 0 || !masked[i - 1]) {
                    int sent = sentinels[Math.min(s++, sentinels.length - 1)];
                    src.add(sent);
                    if (out != null) out.add(sent);
                }
                if (out != null) out.add(t[i]);
            } else {
                src.add(t[i]);
            }
        }
        return src.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int[] clip(int[] a, int max) { return a.length <= max ? a : Arrays.copyOf(a, max); }

    private static int[] crop(int[] a, int max, Random rng) {
        if (a.length <= max) return a;
        int start = rng.nextInt(a.length - max + 1);
        return Arrays.copyOfRange(a, start, start + max);
    }

    static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) n += p.length;
        int[] out = new int[n];
        int o = 0;
        for (int[] p : parts) { System.arraycopy(p, 0, out, o, p.length); o += p.length; }
        return out;
    }
}
