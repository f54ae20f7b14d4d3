package m6j.offload;

import m6j.optim.AdamW;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * AdamW over the offloaded units where they live, streamed one unit at a time on the I/O thread: weight and
 * moments read from their tier (P, M, V), updated, written back to disk tiers; each unit's gradient taken from and
 * then dropped in the {@link GradCollector}. Holds only the time it took.
 */
final class StreamingAdamW {
    private final UnitIndex index;
    private final Tiers tiers;
    private final IoThread io;
    private final GradCollector grads;
    private long ns;

    StreamingAdamW(UnitIndex index, Tiers tiers, IoThread io, GradCollector grads) {
        this.index = index;
        this.tiers = tiers;
        this.io = io;
        this.grads = grads;
    }

    /**
     * One update at step with gradients scaled by gradScale (clipping). Units without a gradient this step update
     * with a zero gradient, exactly as the batched expert tensors of a resident model do (every expert of a layer
     * that ran has a gradient there).
     */
    void update(AdamW.Options o, double lr, long step, double gradScale) {
        AdamW.requireNoScope("StreamingAdamW.update");
        io.sync();
        long t0 = System.nanoTime();
        double bc1 = 1 - Math.pow(o.beta1(), step), bc2 = 1 - Math.pow(o.beta2(), step);
        io.call(() -> {
            try (NoGradGuard ng = new NoGradGuard()) {
                for (int u = 0; u < index.unitCount(); u++) {
                    Tensor p = tiers.read(u, Tiers.Kind.P), g = grads.take(u),
                            m = tiers.read(u, Tiers.Kind.M), v = tiers.read(u, Tiers.Kind.V);
                    if (gradScale != 1) g.mul_(Tensors.scalar(gradScale));
                    List<Tensor> decayed = new ArrayList<>();
                    for (OffloadPlan.Piece pc : index.unit(u).pieces()) if (pc.decay()) decayed.add(p.narrow(0, pc.offset(), pc.numel()));
                    AdamW.apply(p, g, m, v, decayed, o, lr, bc1, bc2);
                    for (Tensor d : decayed) d.close();
                    if (tiers.onDisk(u)) {
                        tiers.write(u, Tiers.Kind.P, 0, p);
                        tiers.write(u, Tiers.Kind.M, 0, m);
                        tiers.write(u, Tiers.Kind.V, 0, v);
                    }
                    for (Tensor t : new Tensor[]{p, g, m, v}) tiers.release(u, t);
                    grads.drop(u);
                }
            }
            return null;
        });
        ns += System.nanoTime() - t0;
    }

    /** Seconds spent in update (waiting for the I/O thread), since the start. */
    double seconds() { return ns / 1e9; }
}
