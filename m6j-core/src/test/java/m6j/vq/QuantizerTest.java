package m6j.vq;

import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class QuantizerTest {
    @BeforeAll static void init() { Torch.init(); }

    /** Codes at (0,0), (10,0), (0,10), (10,10) in a 2-d code space. */
    static Quantizer square() {
        Quantizer q = new Quantizer(new Weights(false), 4, 2, 0.9, 1000);
        try (NoGradGuard ng = new NoGradGuard()) {
            q.codebook.copy_(Tensors.floats(new float[]{0, 0, 10, 0, 0, 10, 10, 10}, 4, 2));
        }
        return q;
    }

    @Test void picksTheNearestCode() {
        Quantizer q = square();
        // z (B=1, D=2, 2, 2): four positions near codes 3, 0, 1, 2
        float[] ch0 = {9, 1, 8, -1}, ch1 = {9.5f, 0.5f, 2, 7};
        float[] z = new float[8];
        System.arraycopy(ch0, 0, z, 0, 4);
        System.arraycopy(ch1, 0, z, 4, 4);
        Quantizer.Result r = q.quantize(Tensors.floats(z, 1, 2, 2, 2));
        assertThat(Tensors.toLongs(r.indices())).containsExactly(3, 0, 1, 2);
        assertThat(Tensors.toFloats(r.quantized())).containsExactly(10, 0, 10, 0, 10, 0, 0, 10);
        assertThat(Tensors.shape(r.indices())).containsExactly(1, 2, 2);
    }

    @Test void straightThroughGradientReachesTheEncoderUnchanged() {
        Quantizer q = square();
        Tensor z = Tensors.floats(new float[]{9, 1, 8, -1, 9.5f, 0.5f, 2, 7}, 1, 2, 2, 2).requires_grad_(true);
        Tensor g = Tensors.floats(new float[]{1, -2, 3, -4, 5, -6, 7, -8}, 1, 2, 2, 2);
        q.quantize(z).quantized().mul(g).sum().backward();               // d/dz of sum(g * quantized) is g
        assertThat(Tensors.toFloats(z.grad())).containsExactly(1, -2, 3, -4, 5, -6, 7, -8);
        assertThat(q.codebook.requires_grad()).isFalse();
    }

    @Test void commitmentLossPullsTheEncoderOutputTowardItsCode() {
        Quantizer q = square();
        Tensor z = Tensors.floats(new float[]{9, 1, 8, -1, 9.5f, 0.5f, 2, 7}, 1, 2, 2, 2).requires_grad_(true);
        Quantizer.Result r = q.quantize(z);
        assertThat(r.commitLoss().item_double()).isCloseTo((1 + 1 + 4 + 1 + 0.25 + 0.25 + 4 + 9) / 8.0, within(1e-5));
        r.commitLoss().backward();
        float[] grad = Tensors.toFloats(z.grad());
        assertThat(grad[0]).isCloseTo(2 * (9 - 10) / 8f, within(1e-6f));   // d mse / dz = 2 (z - q) / n
    }

    @Test void emaMovesUsedCodesAndRestartsDeadOnes() {
        Quantizer q = new Quantizer(new Weights(false), 4, 2, 0.5, 2);
        Random rng = new Random(1);
        float[] z = {1, 1, 1, 1, 1, 1};                                     // three vectors, all (1, 1)
        q.update(z, new long[]{0, 0, 0}, rng);                              // first update seeds codes from z
        for (int i = 0; i < 4; i++) q.update(z, new long[]{0, 0, 0}, rng);
        float[] cb = Tensors.toFloats(q.codebook);
        assertThat(cb[0]).isCloseTo(1f, within(1e-3f));
        for (float v : cb) assertThat(v).isCloseTo(1f, within(0.01f));      // unused codes restarted at encoder outputs
        double[] u = Quantizer.usage(new long[]{0, 0, 1, 1}, 4);
        assertThat(u[0]).isCloseTo(2.0, within(1e-9));
        assertThat(u[1]).isEqualTo(2);
    }

    @Test void everyPresetMapsImagesToItsCodeGridAndBack() {
        for (String name : VqConfig.names()) {
            VqConfig c = VqConfig.preset(name);
            VqModel m = new VqModel(c, 3);
            try (var scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
                Tensor x = torch.randn(2, c.channels(), c.imageSize(), c.imageSize());
                Tensor z = m.encode(x);
                assertThat(Tensors.shape(z)).as(name).containsExactly(2, c.codeDim(), c.grid(), c.grid());
                assertThat(Tensors.shape(m.decode(z))).as(name).containsExactly(2, c.channels(), c.imageSize(), c.imageSize());
            }
            byte[] img = new byte[c.imageSize() * c.imageSize() * 3];
            new Random(2).nextBytes(img);
            long[][] codes = m.codes(List.of(img), 8);
            assertThat(codes[0]).as(name).hasSize(c.codes());
            assertThat(m.images(codes).get(0)).as(name).hasSize(img.length);
        }
        assertThat(VqConfig.preset("fmnist32").grid()).isEqualTo(8);
        assertThat(VqConfig.preset("colour64").grid()).isEqualTo(16);
    }
}
