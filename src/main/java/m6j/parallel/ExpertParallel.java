package m6j.parallel;

import m6j.model.ExpertExchange;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.List;

/**
 * Expert parallelism for one micro-batch: the MoE dispatch buffer (E, C, d) goes to the experts' owners by
 * all-to-all and comes back the same way. Autograd cannot cross a collective, so every exchange (and every
 * tensor used on both sides of one) is cut into a fresh leaf, recorded on a tape; {@link #backward} then
 * runs the graph segment by segment from the loss down, sending gradients back through the same all-to-alls.
 */
final class ExpertParallel implements ExpertExchange {
    private enum Kind { CUT, DISPATCH, COMBINE }

    private record Boundary(int from, Kind kind, Tensor orig, Tensor leaf) {}

    private final Groups g;
    private final int ranks;
    private final List<Boundary> tape = new ArrayList<>();
    private int segment;
    final CommStats stats;

    ExpertParallel(Groups g, CommStats stats) {
        this.g = g;
        this.ranks = g.strategy.ep();
        this.stats = stats;
    }

    @Override public int agreeCapacity(int local) {
        Tensor t = Tensors.longs(new long[]{local}, 1);
        g.allreduce(g.ep, t, ReduceOp.RedOpType.MAX);
        return (int) t.item_long();
    }

    @Override public Tensor dispatch(Tensor perExpert) {
        Tensor leaf = toOwners(perExpert.detach()).requires_grad_(true);
        tape.add(new Boundary(segment++, Kind.DISPATCH, perExpert, leaf));
        return leaf;
    }

    @Override public Tensor combine(Tensor expertOut) {
        Tensor leaf = toSenders(expertOut.detach()).requires_grad_(true);
        tape.add(new Boundary(segment++, Kind.COMBINE, expertOut, leaf));
        return leaf;
    }

    @Override public Tensor cut(Tensor t) {
        Tensor leaf = t.detach().requires_grad_(true);
        tape.add(new Boundary(segment, Kind.CUT, t, leaf));
        return leaf;
    }

    /** (E, C, d), experts in owner order -> (E_local, ranks*C, d): block r of the rows came from rank r. */
    private Tensor toOwners(Tensor x) {
        long e = x.size(0), c = x.size(1), d = x.size(2), el = e / ranks;
        Tensor in = x.contiguous(), out = torch.empty(e * c, d).to(x.scalar_type());
        long t0 = System.nanoTime();
        g.alltoall(g.ep, out, in.view(e * c, d));
        stats.alltoall(System.nanoTime() - t0, 2 * in.nbytes() * (ranks - 1) / ranks);
        return out.view(ranks, el, c, d).permute(1, 0, 2, 3).reshape(el, ranks * c, d);
    }

    /** The inverse: (E_local, ranks*C, d) -> (E, C, d) back at the tokens' ranks. */
    private Tensor toSenders(Tensor y) {
        long el = y.size(0), c = y.size(1) / ranks, d = y.size(2), e = el * ranks;
        Tensor in = y.view(el, ranks, c, d).permute(1, 0, 2, 3).contiguous(), out = torch.empty(e * c, d).to(y.scalar_type());
        long t0 = System.nanoTime();
        g.alltoall(g.ep, out, in.view(e * c, d));
        stats.alltoall(System.nanoTime() - t0, 2 * in.nbytes() * (ranks - 1) / ranks);
        return out.view(e, c, d);
    }

    /** Backward of loss through every segment, last to first; gradients cross exchanges by the reverse all-to-all. */
    void backward(Tensor loss) {
        loss.backward();
        for (int s = segment - 1; s >= 0; s--) {
            Tensor total = null;
            for (int i = tape.size() - 1; i >= 0; i--) {
                Boundary b = tape.get(i);
                if (b.from() != s) continue;
                Tensor grad = b.leaf().grad();
                if (grad == null || !grad.defined()) grad = torch.zeros_like(b.leaf());
                grad = switch (b.kind()) {
                    case DISPATCH -> toSenders(grad);
                    case COMBINE -> toOwners(grad);
                    case CUT -> grad;
                };
                if (!b.orig().requires_grad()) continue;
                Tensor term = b.orig().mul(grad).sum();
                total = total == null ? term : total.add(term);
            }
            if (total != null) total.backward();
        }
    }
}
