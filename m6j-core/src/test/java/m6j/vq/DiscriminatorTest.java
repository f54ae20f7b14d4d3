package m6j.vq;

import m6j.optim.AdamW;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class DiscriminatorTest {
    @Test void learnsToTellSmoothFromNoisyImagesAndItsFrozenCopyTrainsNothing() {
        Torch.init();
        VqConfig c = VqConfig.preset("fmnist32");
        Discriminator d = new Discriminator(c, 1);
        AdamW opt = new AdamW(d.weights.named(), new AdamW.Options(0.5, 0.9, 1e-8, 0));
        double first = 0, last = 0;
        for (int step = 0; step < 40; step++) {
            try (PointerScope s = new PointerScope()) {
                Tensor real = torch.zeros(8, 1, 32, 32).add(Tensors.scalar(0.3));
                Tensor fake = torch.randn(8, 1, 32, 32).mul(Tensors.scalar(0.5));
                Tensor one = torch.ones(1);
                Tensor l = torch.relu(one.sub(d.apply(real, false))).mean().add(torch.relu(one.add(d.apply(fake, false))).mean());
                l.backward();
                if (step == 0) first = l.item_double();
                last = l.item_double();
            }
            opt.update(2e-3);
            AdamW.zeroGrad(d.weights.named());
        }
        assertThat(last).isLessThan(first * 0.5);
        try (PointerScope s = new PointerScope()) {
            Tensor x = torch.randn(2, 1, 32, 32).requires_grad_(true);
            d.apply(x, true).sum().backward();
            assertThat(x.grad().defined()).isTrue();
            for (Tensor w : d.weights.named().values()) assertThat(w.grad().defined()).isFalse();
        }
    }
}
