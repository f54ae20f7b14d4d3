package m6j.infer;

import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.KvCache;
import m6j.model.M6Model;
import m6j.model.PrefixMask;
import m6j.runtime.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.Arrays;
import java.util.Random;

/**
 * Prefix-LM generation with a KV cache: the prefix ([image][BOS source...]) runs once with the bidirectional
 * mask, then each new token is one cached decode step. Rows of a batch share the prefix length.
 */
public final class Generator {
    private final M6Model model;
    private final int eos, vocab, fullVocab;

    public Generator(M6Model model, Tokenizer tok) {
        this.model = model;
        this.eos = tok.id(Tokenizer.EOS);
        this.fullVocab = model.config.vocabSize();
        this.vocab = Math.min(fullVocab, tok.vocabSize());     // text only: image-code tokens (t2i runs) are never chosen here
    }

    /**
     * images: uint8 (B, H, W, C) or null; prefix: B rows of equal length (starting with BOS). Returns the generated ids
     * per row, without EOS. maxNew is cut to what the text context allows.
     */
    public int[][] generate(Tensor images, int[][] prefix, int maxNew, Sampling s, ForwardContext ctx) {
        int b = prefix.length, t = prefix[0].length;
        for (int[] p : prefix) if (p.length != t) throw new IllegalArgumentException("prefix rows must have equal length");
        int room = model.config.maxTextLen() - t;
        if (room <= 0) throw new IllegalArgumentException("prompt of " + t + " tokens fills the model's context of "
                + model.config.maxTextLen() + " tokens");
        maxNew = Math.min(maxNew, room);
        int p = images == null ? 0 : model.config.patches();
        Random rng = new Random(s.seed());
        int[][] out = new int[b][maxNew];
        int[] len = new int[b];
        boolean[] done = new boolean[b];
        try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope();
             KvCache cache = model.newCache(b, p + t + maxNew)) {
            long[] ids = new long[b * t];
            for (int i = 0; i < b; i++) for (int j = 0; j < t; j++) ids[i * t + j] = prefix[i][j];
            int[] pre = new int[b];
            Arrays.fill(pre, p + t);
            Tensor h = model.forward(images, Tensors.longs(ids, b, t), 0, PrefixMask.of(pre, p + t, 0), cache, ctx);
            Tensor logits = model.logits(h.narrow(1, p + t - 1, 1)).reshape(b, fullVocab).narrow(1, 0, vocab);     // (B, V)
            for (int step = 0; step < maxNew; step++) {
                long[] next = choose(logits, s, rng);
                boolean all = true;
                for (int i = 0; i < b; i++) {
                    if (done[i]) continue;
                    if (next[i] == eos) done[i] = true;
                    else out[i][len[i]++] = (int) next[i];
                    all &= done[i];
                }
                if (all || step == maxNew - 1) break;
                // Per-step temporaries are small (B x 1 x d); the scope around the whole call frees them.
                Tensor hs = model.forward(null, Tensors.longs(next, b, 1), t + step, null, cache, ctx);
                logits = model.logits(hs).reshape(b, fullVocab).narrow(1, 0, vocab);
            }
        }
        int[][] res = new int[b][];
        for (int i = 0; i < b; i++) res[i] = Arrays.copyOf(out[i], len[i]);
        return res;
    }

    private long[] choose(Tensor logits, Sampling s, Random rng) {
        if (s.isGreedy()) return Tensors.toLongs(logits.argmax(new LongOptional(1), false));
        float[] all = Tensors.toFloats(logits);
        int b = all.length / vocab;
        long[] out = new long[b];
        for (int i = 0; i < b; i++) out[i] = sample(Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab), s, rng);
        return out;
    }

    /** Temperature, then top-k, then nucleus (top-p) filtering, then a draw from the renormalised distribution. */
    public static int sample(float[] logits, Sampling s, Random rng) {
        int v = logits.length;
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) order[i] = i;
        Arrays.sort(order, (a, c) -> Float.compare(logits[c], logits[a]));
        int keep = s.topK() > 0 ? Math.min(s.topK(), v) : v;
        double max = logits[order[0]];
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) { p[i] = Math.exp((logits[order[i]] - max) / s.temperature()); sum += p[i]; }
        double cum = 0;
        int cut = keep;
        for (int i = 0; i < keep; i++) {
            cum += p[i] / sum;
            if (cum >= s.topP()) { cut = i + 1; break; }
        }
        double total = 0;
        for (int i = 0; i < cut; i++) total += p[i];
        double r = rng.nextDouble() * total;
        for (int i = 0; i < cut; i++) if ((r -= p[i]) <= 0) return order[i];
        return order[cut - 1];
    }
}
