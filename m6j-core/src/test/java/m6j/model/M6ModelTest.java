package m6j.model;

import m6j.TestPresets;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.assertj.core.api.Assertions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class M6ModelTest {
    static final M6Config C = TestPresets.get("model-unit");

    @BeforeAll static void init() { Torch.init(); }

    /** Logits (B, S_text, V) for every text position of [image][tokens] with the given prefix length. */
    static float[] textLogits(M6Model m, Tensor img, long[] toks, int prefix) {
        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor t = Tensors.longs(toks, 1, toks.length);
            int s = C.patches() + toks.length;
            Tensor h = m.forward(img, t, 0, PrefixMask.of(new int[]{prefix}, s, 0), null, ForwardContext.eval());
            return Tensors.toFloats(m.logits(h.narrow(1, C.patches(), toks.length)));
        }
    }

    static Tensor image(long seed) {
        torch.manual_seed(seed);
        return torch.randint(0, 256, new long[]{1, 8, 8, 3}).to(ScalarType.Byte);
    }

    @Test void laterTargetTokenDoesNotChangeEarlierLogits() {
        M6Model m = new M6Model(C, ScalarType.Float, 7);
        Tensor img = image(1);
        int prefix = C.patches() + 2;                       // image + 2 source tokens, then targets
        long[] a = {1, 5, 9, 11, 13, 17, 19, 23};
        long[] b = a.clone();
        b[5] = 42;                                          // change the 6th text token (a target)
        float[] la = textLogits(m, img, a, prefix), lb = textLogits(m, img, b, prefix);
        int v = C.vocabSize();
        for (int pos = 0; pos < a.length; pos++) {
            boolean same = true;
            for (int j = 0; j < v; j++) same &= la[pos * v + j] == lb[pos * v + j];
            if (pos < 5) assertThat(same).as("text position %d before the change", pos).isTrue();
            else assertThat(same).as("text position %d at/after the change", pos).isFalse();
        }
    }

    @Test void prefixIsBidirectional() {
        M6Model m = new M6Model(C, ScalarType.Float, 7);
        Tensor img = image(1);
        long[] a = {1, 5, 9, 11, 13};
        long[] b = a.clone();
        b[2] = 40;                                          // a source (prefix) token
        int v = C.vocabSize();
        float[] la = textLogits(m, img, a, C.patches() + 3), lb = textLogits(m, img, b, C.patches() + 3);
        boolean firstChanged = false;
        for (int j = 0; j < v; j++) firstChanged |= la[j] != lb[j];
        assertThat(firstChanged).as("an earlier prefix position sees a later prefix token").isTrue();
    }

    @Test void imagePatchChangesEveryTextLogit() {
        M6Model m = new M6Model(C, ScalarType.Float, 7);
        Tensor img = image(1);
        Tensor img2 = img.clone();
        img2.narrow(1, 0, 4).narrow(2, 0, 4).fill_(Tensors.scalar(255)); // one 4x4 patch
        long[] toks = {1, 5, 9, 11, 13};
        float[] la = textLogits(m, img, toks, C.patches() + 1), lb = textLogits(m, img2, toks, C.patches() + 1);
        int v = C.vocabSize();
        for (int pos = 0; pos < toks.length; pos++) {
            boolean changed = false;
            for (int j = 0; j < v; j++) changed |= la[pos * v + j] != lb[pos * v + j];
            assertThat(changed).as("text position %d", pos).isTrue();
        }
    }

    @Test void kvCacheDecodingMatchesFullForward() {
        M6Model m = new M6Model(C.withMoe(MoeConfig.dense()), ScalarType.Double, 3);
        Tensor img = image(2);
        long[] toks = {1, 5, 9, 11, 13, 2};
        int prefix = C.patches() + 2, s = C.patches() + toks.length;
        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor full = m.logits(m.forward(img, Tensors.longs(toks, 1, toks.length), 0,
                    PrefixMask.of(new int[]{prefix}, s, 0), null, ForwardContext.eval()));
            KvCache cache = m.newCache(1, s);
            long[] pre = {toks[0], toks[1]};
            m.forward(img, Tensors.longs(pre, 1, 2), 0, PrefixMask.of(new int[]{prefix}, prefix, 0), cache, ForwardContext.eval());
            for (int i = 2; i < toks.length; i++) {
                Tensor step = m.logits(m.forward(null, Tensors.longs(new long[]{toks[i]}, 1, 1), i, null, cache, ForwardContext.eval()));
                double[] a = Tensors.toDoubles(step), b = Tensors.toDoubles(full.narrow(1, C.patches() + i, 1));
                for (int j = 0; j < a.length; j++) assertThat(a[j]).isCloseTo(b[j], Assertions.within(1e-9));
            }
        }
    }

    @Test void parameterCountsMatchTheTensors() {
        M6Model m = new M6Model(C, ScalarType.Float, 1);
        assertThat(C.parameterCounts()[0]).isEqualTo(m.params.count());
    }

    /**
     * The alignment heads' joint forward over [image][text] (the itc objective) gives what the image alone and the
     * padded texts alone give: neither side sees the other, and pads change nothing.
     */
    @Test void alignedImageAndTextAreEmbeddedApartInOneForward() {
        M6Model m = new M6Model(C, ScalarType.Float, 7);
        Tensor img = torch.cat(Tensors.vector(image(1), image(2)), 0);                        // (2, 8, 8, 3)
        Tensor toks = Tensors.longs(new long[]{1, 5, 9, 0, 0, 1, 7, 3, 4, 2}, 2, 5);            // row 0 padded
        try (NoGradGuard ng = new NoGradGuard()) {
            M6Model.Aligned both = m.align(img, toks, ForwardContext.eval());
            M6Model.Aligned images = m.align(img, null, ForwardContext.eval());
            M6Model.Aligned texts = m.align(null, toks, ForwardContext.eval());
            M6Model.Aligned short0 = m.align(null, Tensors.longs(new long[]{1, 5, 9}, 1, 3), ForwardContext.eval());
            assertThat(both.images().sub(images.images()).abs().max().item_double()).isLessThan(1e-5);
            assertThat(both.texts().sub(texts.texts()).abs().max().item_double()).isLessThan(1e-5);
            assertThat(texts.texts().narrow(0, 0, 1).sub(short0.texts()).abs().max().item_double()).isLessThan(1e-5);
            assertThat(both.images().norm().item_double()).isCloseTo(Math.sqrt(2), Assertions.within(1e-4));  // unit rows
            // and the two sides do differ: changing the image changes the image side only
            M6Model.Aligned other = m.align(torch.cat(Tensors.vector(image(3), image(2)), 0), toks, ForwardContext.eval());
            assertThat(other.images().narrow(0, 0, 1).sub(both.images().narrow(0, 0, 1)).abs().max().item_double()).isGreaterThan(1e-3);
            assertThat(other.texts().sub(both.texts()).abs().max().item_double()).isLessThan(1e-6);
        }
    }
}
