package m6j.offload;

import m6j.optim.AdamW;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.function.Function;

/**
 * The gradients of offloaded units: taken from a block's parameters after its backward into the gradient kind
 * (G) of their tier, summed over micro-batches, each unit's squared norm kept; handed to the optimizer and dropped
 * after the update. Holds which units have a gradient and their squared norms; touches only the tiers' G kind.
 */
final class GradCollector {
    private final UnitIndex index;
    private final Tiers tiers;
    private final IoThread io;
    private final boolean[] has;
    private final double[] squares;

    GradCollector(UnitIndex index, Tiers tiers, IoThread io) {
        this.index = index;
        this.tiers = tiers;
        this.io = io;
        has = new boolean[index.unitCount()];
        squares = new double[index.unitCount()];
    }

    /**
     * On the I/O thread, after block layer's backward: the gradients of its dense parameters (by name; each one's
     * grad is reset) and of the experts that ran (ids, with their brought-in weights; null: none), added to what
     * earlier micro-batches left.
     */
    void collect(int layer, Function<String, Tensor> params, Tensor[] live, long[] ids) {
        try (NoGradGuard ng = new NoGradGuard()) {
            int u = index.dense(layer);
            if (u >= 0) {
                OffloadPlan.Unit unit = index.unit(u);
                Tensor g = tiers.alloc(unit.numel(), true);
                for (OffloadPlan.Piece p : unit.pieces()) {
                    Tensor param = params.apply(p.name());
                    try (Tensor pg = param.grad(); Tensor dst = g.narrow(0, p.offset(), p.numel())) {
                        if (pg != null && pg.defined()) try (Tensor flat = pg.reshape(-1)) { dst.copy_(flat); }
                    }
                    param.mutable_grad().reset();
                }
                accumulate(u, g);
            }
            if (live == null) return;
            Tensor[] grads = new Tensor[live.length];
            for (int k = 0; k < live.length; k++) grads[k] = live[k].grad();
            for (int j = 0; j < ids.length; j++) {
                int eu = index.experts(layer)[(int) ids[j]];
                OffloadPlan.Unit unit = index.unit(eu);
                Tensor g = tiers.alloc(unit.numel(), true);
                for (int k = 0; k < live.length; k++) {
                    if (grads[k] == null || !grads[k].defined()) continue;
                    OffloadPlan.Piece p = unit.pieces().get(k);
                    try (Tensor row = grads[k].select(0, j); Tensor flat = row.reshape(-1); Tensor dst = g.narrow(0, p.offset(), p.numel())) {
                        dst.copy_(flat);
                    }
                }
                accumulate(eu, g);
            }
            for (Tensor t : grads) if (t != null) t.close();
        }
    }

    /** Adds g to unit u's gradient in its tier (g is consumed) and records the squared norm of the sum. */
    private void accumulate(int u, Tensor g) {
        if (has[u]) {
            Tensor old = tiers.read(u, Tiers.Kind.G);
            g.add_(old);
            tiers.release(u, old);
        }
        squares[u] = AdamW.squares(g);
        tiers.write(u, Tiers.Kind.G, 0, g);
        has[u] = true;
        tiers.free(g);
    }

    /** Waits for queued gradient write-backs; then the squared gradient norm of all offloaded units. */
    double squares() {
        io.sync();
        double s = 0;
        for (double v : squares) s += v;
        return s;
    }

    /** On the I/O thread: unit u's gradient, zeros if it has none this step (give it back with tiers.release). */
    Tensor take(int u) { return has[u] ? tiers.read(u, Tiers.Kind.G) : tiers.alloc(index.unit(u).numel(), true); }

    /** On the I/O thread, after unit u's update: its gradient is gone. */
    void drop(int u) {
        has[u] = false;
        squares[u] = 0;
        tiers.dropGrad(u);
    }
}
