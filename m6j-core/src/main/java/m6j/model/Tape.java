package m6j.model;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Segmented backward, for where autograd cannot go on: across an expert all-to-all, and through a block whose
 * activations were not kept (activation checkpointing, offloaded blocks). libtorch from Java has no custom autograd
 * Function, so the forward is cut there into segments: a cut turns a tensor into a fresh leaf and remembers its
 * origin, the segment the origin lies in and how the leaf's gradient maps back (identity, or the reverse
 * all-to-all). {@link #backward} runs the last segment's graph from the loss, then each earlier segment from the
 * gradients its cut leaves received, last to first, in one backward pass per segment. A recomputed segment is a
 * block run again with autograd (under a tape of its own, for the exchanges inside it) before its backward.
 */
final class Tape {
    private record Cut(Tensor orig, Tensor leaf, UnaryOperator<Tensor> back) {}

    /** A recomputed block: its input leaf, and the leaves standing in for its output and aux loss. */
    private record Replay(Block block, Tensor mask, ForwardContext ctx, Tensor input, Tensor output, Tensor aux) {}

    private final List<List<Cut>> cuts = new ArrayList<>();         // per segment: the cuts whose origin lies in it
    private final Map<Integer, Replay> replays = new HashMap<>();   // segment -> the block it recomputes

    Tape() { cuts.add(new ArrayList<>()); }

    private int segment() { return cuts.size() - 1; }

    private void next() { cuts.add(new ArrayList<>()); }

    /**
     * A tensor of this segment that is used after the next boundary: the leaf to use after it. Leaves and tensors
     * without gradient cross as they are (no graph to cut); without autograd nothing is recorded.
     */
    Tensor cut(Tensor t) {
        if (t == null || !GradMode.is_enabled() || !t.requires_grad() || t.is_leaf()) return t;
        return record(t, t.detach(), null);
    }

    /** Sends t across a boundary (there: e.g. an all-to-all); back maps the gradient of the result to one of t. */
    Tensor cross(Tensor t, UnaryOperator<Tensor> there, UnaryOperator<Tensor> back) {
        if (!GradMode.is_enabled()) return there.apply(t);
        Tensor leaf = record(t, there.apply(t.detach()), back);
        next();
        return leaf;
    }

    private Tensor record(Tensor orig, Tensor value, UnaryOperator<Tensor> back) {
        Tensor leaf = value.requires_grad_(true);
        cuts.get(segment()).add(new Cut(orig, leaf, back));
        return leaf;
    }

    /**
     * Runs block b on x without keeping activations, in a segment of its own; returns a leaf standing in for its
     * output. Its aux loss joins ctx's as a leaf too, whose gradient then says what the aux loss weighs in the loss.
     */
    Tensor recompute(Block b, Tensor x, Tensor mask, ForwardContext ctx) {
        Tensor in = cut(x);
        next();
        int segment = segment();
        ForwardContext quiet = ctx.child(true);                 // routing statistics are counted in this run only
        Tensor out, aux = null;
        ctx.store().enter(b.layer, false);
        PointerScope outer = PointerScope.getInnerScope();
        // The block's temporaries are freed right here (their Java handles would otherwise keep them until the step ends).
        try (PointerScope inner = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
            Tensor y = b.forward(in.detach(), mask, null, quiet);
            out = keep(inner, outer, y.detach());
            if (quiet.auxLoss() != null) aux = keep(inner, outer, quiet.auxLoss().detach());
        }
        ctx.store().exit(b.layer, false);
        // requires_grad_ outside the inner scope: an in-place op registers its result again
        Tensor leaf = out.requires_grad_(true), auxLeaf = aux == null ? null : aux.requires_grad_(true);
        replays.put(segment, new Replay(b, mask, ctx, in, leaf, auxLeaf));
        next();
        if (auxLeaf != null) ctx.addAux(auxLeaf);
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

    /** Backward of root through every segment, last to first. */
    void backward(Tensor root) {
        if (!cuts.get(segment()).isEmpty()) throw new IllegalStateException("a cut with no boundary after it");
        root.backward();
        for (int s = segment() - 1; s >= 0; s--) {
            Replay r = replays.get(s);
            if (r != null) {
                replay(r);
                continue;
            }
            Tensor total = null;
            List<Cut> cs = cuts.get(s);
            for (int i = cs.size() - 1; i >= 0; i--) {
                Cut c = cs.get(i);
                Tensor g = c.leaf().grad();
                boolean has = g != null && g.defined();
                if (c.back() != null) g = c.back().apply(has ? g : torch.zeros_like(c.leaf()));   // every rank takes part
                else if (!has) continue;
                if (!c.orig().requires_grad()) continue;
                Tensor term = c.orig().mul(g).sum();
                total = total == null ? term : total.add(term);
            }
            if (total != null) total.backward();
        }
    }

    /** The block again, with autograd and its weights brought in for the backward that follows at once. */
    private static void replay(Replay r) {
        try (PointerScope inner = new PointerScope()) {               // one block's recomputation at a time
            Tensor g = r.output().grad();
            if (g == null || !g.defined()) return;
            int layer = r.block().layer;
            ForwardContext ctx = r.ctx().child(false);
            ctx.store().enter(layer, true);
            Tensor y = r.block().forward(r.input(), r.mask(), null, ctx);
            Tensor term = y.mul(g).sum();
            Tensor ga = r.aux() == null ? null : r.aux().grad();
            if (ctx.auxLoss() != null && ga != null && ga.defined()) term = term.add(ctx.auxLoss().mul(ga));
            ctx.backward(term);
            ctx.store().exit(layer, true);
        }
    }
}
