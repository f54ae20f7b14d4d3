package m6j.model;

import m6j.runtime.Tensors;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Multi-head self-attention; the prefix-LM mask comes from outside (see {@link PrefixMask}). */
final class Attention {
    private final int heads, headDim, layer;
    private final String qkv, proj;
    private final Tensor wQkv, bQkv, wOut, bOut;

    Attention(Params p, String prefix, M6Config c, int layer) {
        int d = c.dModel();
        this.heads = c.nHeads();
        this.headDim = c.headDim();
        this.layer = layer;
        this.qkv = prefix + "qkv";
        this.proj = prefix + "proj";
        wQkv = p.normal(prefix + "qkv.weight", 0.02, 3L * d, d);
        bQkv = p.zeros(prefix + "qkv.bias", 3L * d);
        wOut = p.normal(prefix + "proj.weight", 0.02 / Math.sqrt(2.0 * c.nLayers()), d, d);
        bOut = p.zeros(prefix + "proj.bias", d);
    }

    /** x (B, S, d); mask (B, 1, S, L) bool, true = may attend, or null for "all"; cache may be null. */
    Tensor forward(Tensor x, Tensor mask, KvCache cache, ForwardContext ctx) {
        long b = x.size(0), s = x.size(1), d = x.size(2);
        Tensor qkv = ctx.linear(this.qkv, x, wQkv, bQkv)                 // (B, S, 3d)
                .view(b, s, 3, heads, headDim).permute(2, 0, 3, 1, 4);    // (3, B, H, S, hd)
        Tensor q = qkv.select(0, 0), k = qkv.select(0, 1), v = qkv.select(0, 2);
        if (cache != null) {
            Tensor[] kv = cache.append(layer, k, v);                       // (B, H, L, hd)
            k = kv[0];
            v = kv[1];
        }
        Tensor y = torch.scaled_dot_product_attention(q, k, v, Tensors.opt(mask), 0.0, false,
                new DoubleOptional(), false);                              // (B, H, S, hd)
        y = y.transpose(1, 2).reshape(b, s, d);                            // (B, S, d)
        return ctx.linear(proj, y, wOut, bOut);
    }
}
