package m6j.infer;

import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The sampling routine: greedy, top-k and top-p rows in one batch, each drawing only from what it keeps. */
class SamplerTest {
    @BeforeAll static void init() { Torch.init(); }

    @Test void eachRowDrawsOnlyFromTheCandidatesItsSettingsKeep() {
        // row logits: token 7 best, then 3, then 5, the rest far below
        float[] row = new float[50];
        java.util.Arrays.fill(row, -20f);
        row[7] = 5f; row[3] = 4.5f; row[5] = 4f;
        Sampling greedy = Sampling.greedy(), top2 = new Sampling(1.0, 2, 1.0, 1), nucleus = new Sampling(1.0, 0, 0.5, 1),
                plain = new Sampling(1.0, 0, 1.0, 1);
        Sampling[] s = {greedy, top2, nucleus, plain};
        float[] all = new float[4 * 50];
        for (int i = 0; i < 4; i++) System.arraycopy(row, 0, all, i * 50, 50);
        Tensor logits = Tensors.floats(all, 4, 50);
        Random[] rng = {new Random(1), new Random(2), new Random(3), new Random(4)};
        Set<Integer> top2Seen = new HashSet<>(), nucleusSeen = new HashSet<>(), plainSeen = new HashSet<>();
        for (int t = 0; t < 400; t++) {
            int[] out = Sampler.choose(logits, s, rng);
            assertThat(out[0]).isEqualTo(7);
            top2Seen.add(out[1]);
            nucleusSeen.add(out[2]);
            plainSeen.add(out[3]);
        }
        assertThat(top2Seen).containsExactlyInAnyOrder(7, 3);
        assertThat(nucleusSeen).containsExactly(7);            // p(7) = 0.51 >= 0.5: the nucleus is token 7 alone
        assertThat(plainSeen).contains(7, 3, 5);
    }
}
