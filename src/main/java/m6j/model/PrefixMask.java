package m6j.model;

import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * The prefix-LM attention mask: position i may attend to j when j is in the prefix (image patches and source
 * text, read bidirectionally) or j <= i (target text, left to right). Shape (B, 1, S, past + S), true = attend.
 */
public final class PrefixMask {
    private PrefixMask() {}

    /** prefix[b] = number of leading positions (of the whole sequence) that are bidirectional. */
    public static Tensor of(int[] prefix, int seqLen, int past) {
        int b = prefix.length, l = past + seqLen;
        boolean[] m = new boolean[b * seqLen * l];
        for (int s = 0; s < b; s++) {
            for (int i = 0; i < seqLen; i++) {
                int qi = past + i, base = (s * seqLen + i) * l;
                for (int j = 0; j < l; j++) m[base + j] = j <= qi || j < prefix[s];
            }
        }
        return Tensors.bools(m, b, 1, seqLen, l);
    }
}
