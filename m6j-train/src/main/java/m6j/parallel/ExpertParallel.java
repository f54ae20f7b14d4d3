package m6j.parallel;

import m6j.model.ExpertExchange;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Expert parallelism for one micro-batch: the MoE dispatch buffer (E, C, d) goes to the experts' owners by
 * all-to-all and comes back the same way. Gradients cross the same all-to-alls in reverse, run by the forward
 * context's tape (m6j.model.Tape).
 */
final class ExpertParallel implements ExpertExchange {
    private final Groups g;
    private final int ranks;
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

    /** (E, C, d), experts in owner order -> (E_local, ranks*C, d): block r of the rows came from rank r. */
    @Override public Tensor dispatch(Tensor x) {
        long e = x.size(0), c = x.size(1), d = x.size(2), el = e / ranks;
        Tensor in = x.contiguous(), out = torch.empty(e * c, d).to(x.scalar_type());
        long t0 = System.nanoTime();
        g.alltoall(g.ep, out, in.view(e * c, d));
        stats.alltoall(System.nanoTime() - t0, 2 * in.nbytes() * (ranks - 1) / ranks);
        return out.view(ranks, el, c, d).permute(1, 0, 2, 3).reshape(el, ranks * c, d);
    }

    /** The inverse: (E_local, ranks*C, d) -> (E, C, d) back at the tokens' ranks. */
    @Override public Tensor combine(Tensor y) {
        long el = y.size(0), c = y.size(1) / ranks, d = y.size(2), e = el * ranks;
        Tensor in = y.view(el, ranks, c, d).permute(1, 0, 2, 3).contiguous(), out = torch.empty(e * c, d).to(y.scalar_type());
        long t0 = System.nanoTime();
        g.alltoall(g.ep, out, in.view(e * c, d));
        stats.alltoall(System.nanoTime() - t0, 2 * in.nbytes() * (ranks - 1) / ranks);
        return out.view(e, c, d);
    }
}
