package m6j.infer;

import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.Arrays;
import java.util.Random;

/**
 * The one sampling routine: next tokens for rows of logits, each row with its own settings. Greedy rows take the
 * arg-max (on the tensor); plain temperature rows draw from one batched softmax in a single pass; rows with
 * top-k/top-p go through {@link #sample}. Every caller (text, captions, image codes) decodes through here.
 */
public final class Sampler {
    private Sampler() {}

    /** logits (B, V) of a range of the vocabulary; returns an index into that range per row. */
    public static int[] choose(Tensor logits, Sampling[] s, Random[] rng) {
        int b = s.length, v = (int) logits.size(1);
        int[] out = new int[b];
        boolean sampled = false, filtered = false, greedy = false;
        float[] inv = new float[b];
        for (int i = 0; i < b; i++) {
            inv[i] = s[i].isGreedy() ? 1f : (float) (1.0 / s[i].temperature());
            greedy |= s[i].isGreedy();
            sampled |= !s[i].isGreedy();
            filtered |= !s[i].isGreedy() && (s[i].topK() > 0 || s[i].topP() < 1);
        }
        if (greedy) {
            long[] best = Tensors.toLongs(logits.argmax(new LongOptional(1), false));
            for (int i = 0; i < b; i++) out[i] = (int) best[i];
        }
        if (!sampled) return out;
        Tensor scaled = logits.mul(Devices.like(logits, Tensors.floats(inv, b, 1)).to(logits.scalar_type()));
        float[] p = Tensors.toFloats(torch.softmax(scaled, -1));
        float[] raw = filtered ? Tensors.toFloats(logits) : null;
        for (int i = 0; i < b; i++) {
            if (s[i].isGreedy()) continue;
            int off = i * v;
            if (s[i].topK() > 0 || s[i].topP() < 1) { out[i] = sample(Arrays.copyOfRange(raw, off, off + v), s[i], rng[i]); continue; }
            double r = rng[i].nextDouble();            // plain temperature sampling: one pass over the row
            int j = 0;
            while (j < v - 1 && (r -= p[off + j]) > 0) j++;
            out[i] = j;
        }
        return out;
    }

    /** Temperature, then top-k, then nucleus (top-p) filtering, then a draw from the renormalised distribution. */
    static int sample(float[] logits, Sampling s, Random rng) {
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
