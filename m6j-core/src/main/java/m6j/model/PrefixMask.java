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

    /**
     * Two sequences in one row that do not see each other: patches image positions read only each other, and the
     * text after them only its own first textLen[b] positions (pads read the text, and nothing reads them). For the
     * image-text alignment objective: one forward gives the image's states and the text's, as two forwards would.
     * Shape (B, 1, patches + seqLen, patches + seqLen).
     */
    public static Tensor separate(int patches, int[] textLen, int seqLen) {
        int b = textLen.length, l = patches + seqLen;
        boolean[] m = new boolean[b * l * l];
        for (int s = 0; s < b; s++) {
            for (int i = 0; i < l; i++) {
                int base = (s * l + i) * l;
                if (i < patches) for (int j = 0; j < patches; j++) m[base + j] = true;
                else for (int j = patches; j < patches + textLen[s]; j++) m[base + j] = true;
            }
        }
        return Tensors.bools(m, b, 1, l, l);
    }
}
