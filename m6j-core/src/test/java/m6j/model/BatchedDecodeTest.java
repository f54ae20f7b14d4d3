package m6j.model;

import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** One batched decode step over slots of different lengths equals each request decoded alone. */
class BatchedDecodeTest {
    @BeforeAll static void init() { Torch.init(); }

    /** Prefill [image?][prefix] into cache, then decode `next` alone; returns the logits of that step. */
    static float[] alone(M6Model m, Tensor img, long[] prefix, long[] next) {
        int p = img == null ? 0 : m.config.patches(), t = prefix.length;
        try (NoGradGuard ng = new NoGradGuard(); PointerScope s = new PointerScope(); KvCache c = m.newCache(1, 40)) {
            m.forward(img, Tensors.longs(prefix, 1, t), 0, PrefixMask.of(new int[]{p + t}, p + t, 0), c, ForwardContext.eval());
            Tensor h = null;
            for (int i = 0; i < next.length; i++) h = m.forward(null, Tensors.longs(new long[]{next[i]}, 1, 1), t + i, null, c, ForwardContext.eval());
            return Tensors.toFloats(m.logits(h));
        }
    }

    @Test void raggedBatchMatchesSingleRequests() {
        M6Model m = new M6Model(M6ModelTest.C, ScalarType.Float, 3);
        Tensor img = M6ModelTest.image(2);
        long[][] prefixes = {{1, 4, 9}, {1, 7}, {1, 3, 5, 8, 2}};
        Tensor[] images = {null, img, null};
        long[][] nexts = {{11, 12}, {13, 14}, {15, 16}};
        int v = M6ModelTest.C.vocabSize();
        try (NoGradGuard ng = new NoGradGuard(); KvCache pool = m.newCache(4, 40)) {
            KvCache[] slots = {pool.slot(3), pool.slot(0), pool.slot(1)};   // slots out of order on purpose
            int[] textLen = new int[3];
            try (PointerScope s = new PointerScope()) {
                for (int i = 0; i < 3; i++) {
                    int p = images[i] == null ? 0 : m.config.patches(), t = prefixes[i].length;
                    m.forward(images[i], Tensors.longs(prefixes[i], 1, t), 0, PrefixMask.of(new int[]{p + t}, p + t, 0), slots[i], ForwardContext.eval());
                    textLen[i] = t;
                }
                float[] got = null;
                for (int step = 0; step < 2; step++) {
                    long[] tok = new long[3];
                    int[] pos = new int[3];
                    for (int i = 0; i < 3; i++) { tok[i] = nexts[i][step]; pos[i] = textLen[i] + step; }
                    got = Tensors.toFloats(m.logits(m.decode(tok, pos, slots, ForwardContext.eval())));
                }
                for (int i = 0; i < 3; i++) {
                    float[] want = alone(m, images[i], prefixes[i], nexts[i]);
                    for (int j = 0; j < v; j++) assertThat(got[i * v + j]).as("row %d logit %d", i, j).isCloseTo(want[j], within(1e-4f));
                }
                assertThat(slots[1].length()).isEqualTo(m.config.patches() + 2 + 2);
            }
            for (KvCache c : slots) c.close();
        }
    }
}
