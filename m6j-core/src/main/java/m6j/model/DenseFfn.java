package m6j.model;

import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The position-wise feed-forward network: d -> dFF -> d with GELU. */
final class DenseFfn implements Ffn {
    final Tensor w1, b1, w2, b2;
    private final String fc1, fc2;

    DenseFfn(Params p, String prefix, M6Config c) { this(p, prefix, c, c.dFF()); }

    /** width: the hidden size (an MoE layer's shared experts are one FFN of their summed width). */
    DenseFfn(Params p, String prefix, M6Config c, int width) {
        fc1 = prefix + "fc1";
        fc2 = prefix + "fc2";
        w1 = p.normal(prefix + "fc1.weight", 0.02, width, c.dModel());
        b1 = p.zeros(prefix + "fc1.bias", width);
        w2 = p.normal(prefix + "fc2.weight", 0.02 / Math.sqrt(2.0 * c.nLayers()), c.dModel(), width);
        b2 = p.zeros(prefix + "fc2.bias", c.dModel());
    }

    @Override public Tensor forward(Tensor x, ForwardContext ctx) {
        Tensor h = torch.gelu(ctx.linear(fc1, x, w1, b1));            // (B, S, dFF)
        return ctx.linear(fc2, h, w2, b2);                            // (B, S, d)
    }
}
