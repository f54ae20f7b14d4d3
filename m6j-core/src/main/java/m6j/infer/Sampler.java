package m6j.infer;

import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.Arrays;
import java.util.Random;

/**
 * The one sampling routine: next tokens for rows of logits, each row with its own settings. Greedy rows take the
 * arg-max (on the tensor); plain temperature rows draw from one batched softmax in a single pass; rows with
 * top-k/top-p take their candidates from one batched native top-k ({@link #filtered}). Every caller (text, captions, image codes) decodes through here.
 */
public final class Sampler {
    private Sampler() {}

    /** logits (B, V) of a range of the vocabulary; returns an index into that range per row. */
    public static int[] choose(Tensor logits, Sampling[] s, Random[] rng) {
        int b = s.length, v = (int) logits.size(1);
        int[] out = new int[b];
        boolean sampled = false, filtered = false, greedy = false, plain = false;
        float[] inv = new float[b];
        for (int i = 0; i < b; i++) {
            inv[i] = s[i].isGreedy() ? 1f : (float) (1.0 / s[i].temperature());
            greedy |= s[i].isGreedy();
            sampled |= !s[i].isGreedy();
            filtered |= !s[i].isGreedy() && (s[i].topK() > 0 || s[i].topP() < 1);
            plain |= !s[i].isGreedy() && s[i].topK() <= 0 && s[i].topP() >= 1;
        }
        if (greedy) {
            long[] best = Tensors.toLongs(logits.argmax(new LongOptional(1), false));
            for (int i = 0; i < b; i++) out[i] = (int) best[i];
        }
        if (!sampled) return out;
        float[] p = plain ? Tensors.toFloats(torch.softmax(logits.mul(Devices.like(logits, Tensors.floats(inv, b, 1)).to(logits.scalar_type())), -1)) : null;
        for (int i = 0; plain && i < b; i++) {
            if (s[i].isGreedy() || s[i].topK() > 0 || s[i].topP() < 1) continue;
            double r = rng[i].nextDouble();            // plain temperature sampling: one pass over the row
            int off = i * v, j = 0;
            while (j < v - 1 && (r -= p[off + j]) > 0) j++;
            out[i] = j;
        }
        if (filtered) filtered(logits, s, rng, out);
        return out;
    }

    /**
     * Rows with top-k / top-p: their candidates come sorted from one native top-k over those rows (k = the largest
     * any of them keeps; the whole row for top-p alone), so the engine thread never sorts a vocabulary in Java.
     */
    private static void filtered(Tensor logits, Sampling[] s, Random[] rng, int[] out) {
        int v = (int) logits.size(1), n = 0, k = 1;
        long[] rows = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            if (s[i].isGreedy() || (s[i].topK() <= 0 && s[i].topP() >= 1)) continue;
            rows[n++] = i;
            k = Math.max(k, keep(s[i], v));
        }
        Tensor sub = logits.index_select(0, Devices.like(logits, Tensors.longs(Arrays.copyOf(rows, n), n)));
        T_TensorTensor_T top = torch.topk(sub, k, -1, true, true);                                   // (n, k) each
        float[] values = Tensors.toFloats(top.get0().contiguous());
        long[] ids = Tensors.toLongs(top.get1().contiguous());
        for (int r = 0; r < n; r++) {
            int i = (int) rows[r];
            out[i] = (int) ids[r * k + sample(values, r * k, keep(s[i], v), s[i], rng[i])];
        }
    }

    private static int keep(Sampling s, int v) { return s.topK() > 0 ? Math.min(s.topK(), v) : v; }

    /**
     * Temperature, then top-k, then nucleus (top-p) filtering, then a draw from the renormalised distribution.
     * sorted[from .. from+keep) are the row's largest logits in descending order; returns a position among them.
     */
    static int sample(float[] sorted, int from, int keep, Sampling s, Random rng) {
        double max = sorted[from];
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) { p[i] = Math.exp((sorted[from + i] - max) / s.temperature()); sum += p[i]; }
        double cum = 0;
        int cut = keep;
        for (int i = 0; i < keep; i++) {
            cum += p[i] / sum;
            if (cum >= s.topP()) { cut = i + 1; break; }
        }
        double total = 0;
        for (int i = 0; i < cut; i++) total += p[i];
        double r = rng.nextDouble() * total;
        for (int i = 0; i < cut; i++) if ((r -= p[i]) <= 0) return i;
        return cut - 1;
    }
}
