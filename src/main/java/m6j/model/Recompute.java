package m6j.model;

import m6j.runtime.Tensors;
import org.bytedeco.javacpp.PointerScope;
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
    private record Entry(Block block, Tensor input, Tensor savedInput, Tensor output, Tensor mask, LayerStore store) {}

    private final List<Entry> tape = new ArrayList<>();
    private final double auxScale;

    /** auxScale: d(total loss)/d(aux loss), so the recomputed MoE aux losses get their gradient. */
    Recompute(double auxScale) { this.auxScale = auxScale; }

    /** Runs blk on x without keeping activations; returns a leaf standing in for its output. */
    Tensor forward(Block blk, Tensor x, Tensor mask, ForwardContext ctx) {
        ForwardContext quiet = new ForwardContext(ctx.training, ctx.stats).offload(ctx.store(), auxScale); // aux counted again at recompute
        LayerStore store = ctx.offloaded(blk.layer) ? ctx.store() : null;
        if (store != null) store.enter(blk.layer, false);
        Tensor out, aux = null;
        PointerScope outer = PointerScope.getInnerScope();
        // The block's temporaries are freed right here (their Java handles would otherwise keep them until the step ends).
        try (PointerScope inner = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
            Tensor y = blk.forward(x.detach(), mask, null, quiet);
            out = keep(inner, outer, y.detach());
            if (quiet.auxLoss() != null) aux = keep(inner, outer, quiet.auxLoss().detach());
        }
        if (store != null) store.exit(blk.layer, false);
        if (aux != null) ctx.addAux(aux);                                       // for the loss value only
        Tensor leaf = out.requires_grad_(true);     // outside the inner scope: an in-place op re-registers its result
        tape.add(new Entry(blk, x, x.detach(), leaf, mask, store));
        return leaf;
    }

    /**
     * Moves t (registered once) from the inner scope to the enclosing one, so it outlives the inner scope but not
     * the step. In-place ops register their result again, so none may run on t inside the inner scope.
     */
    private static Tensor keep(PointerScope inner, PointerScope outer, Tensor t) {
        t.retainReference();            // detach() releases one reference: without this it would free t
        inner.detach(t);
        if (outer != null) {
            outer.attach(t);            // attach() retains again: give back ours, the outer scope now owns t
            t.releaseReference();
        }
        return t;
    }

    /** After loss.backward(): recompute the checkpointed blocks, last first, and continue their gradients. */
    void backward() {
        for (int i = tape.size() - 1; i >= 0; i--) {
            Entry e = tape.get(i);
            try (PointerScope inner = new PointerScope()) {                   // one block's recomputation at a time
                Tensor g = e.output().grad();
                if (g == null || !g.defined()) continue;
                Tensor x = e.savedInput().requires_grad_(true);
                ForwardContext ctx = ForwardContext.train();
                if (e.store() != null) {
                    ctx.offload(e.store(), auxScale);
                    e.store().enter(e.block().layer, true);
                }
                Tensor y = e.block().forward(x, e.mask(), null, ctx);
                Tensor term = y.mul(g).sum();
                if (ctx.auxLoss() != null) term = term.add(ctx.auxLoss().mul(Tensors.scalar(auxScale)));
                term.backward();
                if (e.store() != null) e.store().exit(e.block().layer, true);
                Tensor gx = x.grad();
                if (e.input().requires_grad() && gx != null && gx.defined())
                    Tensors.backward(e.input(), gx);
            }
        }
    }
}
