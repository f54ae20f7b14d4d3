package m6j.vq;

import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * PatchGAN discriminator: (B, C, S, S) -> (B, 1, S/4, S/4) real/fake logits, one per overlapping patch.
 * {@link #apply(Tensor, boolean)} with frozen = true uses detached weights, so the generator's adversarial loss
 * reaches the generator only.
 */
public final class Discriminator {
    public final Weights weights = new Weights(true);
    private final Layers.Conv c1, c2, c3;
    private final Layers.Norm n2;

    public Discriminator(VqConfig c, long seed) {
        torch.manual_seed(seed ^ 0x5DEECE66DL);
        int w = c.discWidth();
        c1 = Layers.conv(weights, "disc.conv1", c.channels(), w, 4, 2);
        c2 = Layers.conv(weights, "disc.conv2", w, 2 * w, 4, 2);
        n2 = Layers.norm(weights, "disc.norm2", 2 * w);
        c3 = Layers.conv(weights, "disc.conv3", 2 * w, 1, 3, 1);
    }

    public Tensor apply(Tensor x, boolean frozen) {
        Tensor h = torch.leaky_relu(conv(c1, x, frozen), Tensors.scalar(0.2));
        Layers.Norm n = frozen ? new Layers.Norm(n2.w().detach(), n2.b().detach(), n2.groups()) : n2;
        h = torch.leaky_relu(n.apply(conv(c2, h, frozen)), Tensors.scalar(0.2));
        return conv(c3, h, frozen);
    }

    private static Tensor conv(Layers.Conv c, Tensor x, boolean frozen) {
        return frozen ? new Layers.Conv(c.w().detach(), c.b().detach(), c.stride(), c.pad()).apply(x) : c.apply(x);
    }
}
