package m6j.model;

import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Activation checkpointing for chosen blocks: their forward runs without autograd, keeping only the block's
 * input; backward recomputes each such block with autograd and pushes the output gradient through it.
 * (libtorch from Java has no custom autograd Function, so this is a tape replayed after loss.backward().)
 */
final class Recompute {
    private record Entry(Block block, Tensor input, Tensor savedInput, Tensor output, Tensor mask) {}

    private final List<Entry> tape = new ArrayList<>();
    private final double auxScale;

    /** auxScale: d(total loss)/d(aux loss), so the recomputed MoE aux losses get their gradient. */
    Recompute(double auxScale) { this.auxScale = auxScale; }

    /** Runs blk on x without keeping activations; returns a leaf standing in for its output. */
    Tensor forward(Block blk, Tensor x, Tensor mask, ForwardContext ctx) {
        Tensor y;
        ForwardContext quiet = new ForwardContext(ctx.training, ctx.stats);    // aux counted again at recompute
        try (NoGradGuard ng = new NoGradGuard()) {
            y = blk.forward(x.detach(), mask, null, quiet);
        }
        if (quiet.auxLoss() != null) ctx.addAux(quiet.auxLoss().detach());     // for the loss value only
        Tensor leaf = y.detach().requires_grad_(true);
        tape.add(new Entry(blk, x, x.detach(), leaf, mask));
        return leaf;
    }

    /** After loss.backward(): recompute the checkpointed blocks, last first, and continue their gradients. */
    void backward() {
        for (int i = tape.size() - 1; i >= 0; i--) {
            Entry e = tape.get(i);
            Tensor g = e.output().grad();
            if (g == null || !g.defined()) continue;
            Tensor x = e.savedInput().requires_grad_(true);
            ForwardContext ctx = ForwardContext.train();
            Tensor y = e.block().forward(x, e.mask(), null, ctx);
            Tensor term = y.mul(g).sum();
            if (ctx.auxLoss() != null) term = term.add(ctx.auxLoss().mul(m6j.runtime.Tensors.scalar(auxScale)));
            term.backward();
            Tensor gx = x.grad();
            if (e.input().requires_grad() && gx != null && gx.defined())
                m6j.runtime.Tensors.backward(e.input(), gx);
        }
    }
}
