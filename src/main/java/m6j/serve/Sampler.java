package m6j.serve;

import m6j.infer.Generator;
import m6j.infer.Sampling;
import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.Arrays;
import java.util.List;

/**
 * Next tokens for a batch of sequences with their own settings: greedy rows take the arg-max, plain temperature
 * rows draw from one batched softmax in a single pass, rows with top-k/top-p go through {@link Generator#sample}.
 */
final class Sampler {
    private Sampler() {}

    /** Per-row probabilities (softmax at each row's temperature, in one batched op), and logits where a row filters. */
    record Choice(float[] probs, float[] logits) {}

    static Choice probabilities(Tensor logits, List<Sequence> rows) {
        int b = rows.size();
        float[] inv = new float[b];
        boolean filtered = false;
        for (int i = 0; i < b; i++) {
            Sampling sp = rows.get(i).sampling;
            inv[i] = sp.isGreedy() ? 1f : (float) (1.0 / sp.temperature());
            filtered |= !sp.isGreedy() && (sp.topK() > 0 || sp.topP() < 1);
        }
        Tensor scaled = logits.mul(Devices.like(logits, Tensors.floats(inv, b, 1)).to(logits.scalar_type()));
        return new Choice(Tensors.toFloats(torch.softmax(scaled, -1)), filtered ? Tensors.toFloats(logits) : null);
    }

    static int choose(Choice c, int row, Sequence s, int vocab) {
        int off = row * vocab;
        float[] p = c.probs();
        if (s.sampling.isGreedy()) {
            int best = 0;
            for (int j = 1; j < vocab; j++) if (p[off + j] > p[off + best]) best = j;
            return best;
        }
        if (s.sampling.topK() > 0 || s.sampling.topP() < 1)
            return Generator.sample(Arrays.copyOfRange(c.logits(), off, off + vocab), s.sampling, s.rng);
        double r = s.rng.nextDouble();                 // plain temperature sampling: one pass over the row
        for (int j = 0; j < vocab; j++) if ((r -= p[off + j]) <= 0) return j;
        return vocab - 1;
    }

}
