package m6j.model;

import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Pre-LN transformer block: x + attn(ln1(x)), then + ffn(ln2(x)). With shareLayers every block reads block 0's weights. */
final class Block {
    private final Tensor ln1w, ln1b, ln2w, ln2b;
    private final long[] normShape;
    final Attention attn;
    final Ffn ffn;
    final int layer;

    Block(Params p, M6Config c, int layer, ExpertShard shard) {
        this.layer = layer;
        String pre = "blocks." + (c.shareLayers() ? 0 : layer) + ".";
        normShape = new long[]{c.dModel()};
        ln1w = p.ones(pre + "ln1.weight", c.dModel());
        ln1b = p.zeros(pre + "ln1.bias", c.dModel());
        attn = new Attention(p, pre + "attn.", c, layer);
        ln2w = p.ones(pre + "ln2.weight", c.dModel());
        ln2b = p.zeros(pre + "ln2.bias", c.dModel());
        ffn = c.moe().isMoeLayer(layer) ? new MoeFfn(p, pre + "moe.", c, layer, shard) : new DenseFfn(p, pre + "ffn.", c);
    }

    Tensor forward(Tensor x, Tensor mask, KvCache cache, ForwardContext ctx) {
        x = x.add(attn.forward(norm(x, ln1w, ln1b), mask, cache, ctx));
        Tensor h = norm(x, ln2w, ln2b);
        if (ctx.exchange != null && ffn instanceof MoeFfn) x = ctx.cut(x);   // the residual crosses the exchange
        return x.add(ffn.forward(h, ctx));
    }

    Tensor norm(Tensor x, Tensor w, Tensor b) {
        return torch.layer_norm(x, normShape, Tensors.opt(w), Tensors.opt(b), 1e-5, true);
    }
}
