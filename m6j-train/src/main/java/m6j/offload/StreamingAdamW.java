package m6j.offload;

import m6j.optim.AdamW;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/**
 * AdamW over the offloaded units where they live, streamed one unit at a time on the I/O thread: weight and
 * moments read from their tier (P, M, V), updated, written back to disk tiers; each unit's gradient taken from and
 * then dropped in the {@link GradCollector}. While one unit is updated and written back, the next one's weight,
 * gradient and moments are read on a reader thread (environment M6J_OFFLOAD_OVERLAP=0: one after the other, to
 * measure the difference); the reader only fills fresh tensors, all arithmetic stays on the I/O thread. Holds the
 * reader and the time the update took.
 */
final class StreamingAdamW {
    private final UnitIndex index;
    private final Tiers tiers;
    private final IoThread io;
    private final GradCollector grads;
    private final IoThread reader;                // null: no overlap
    private long ns;

    StreamingAdamW(UnitIndex index, Tiers tiers, IoThread io, GradCollector grads) {
        this.index = index;
        this.tiers = tiers;
        this.io = io;
        this.grads = grads;
        reader = "0".equals(System.getenv("M6J_OFFLOAD_OVERLAP")) ? null : new IoThread("m6j-offload-read");
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
                int n = index.unitCount();
                Future<Tensor[]> next = n > 0 ? fetch(0) : null;
                for (int u = 0; u < n; u++) {
                    Tensor[] pgmv = next.get();
                    next = u + 1 < n ? fetch(u + 1) : null;        // read while this unit is updated and written
                    Tensor p = pgmv[0], g = pgmv[1], m = pgmv[2], v = pgmv[3];
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

    /** Unit u's weight, gradient and moments, read on the reader thread (or here and now without overlap). */
    private Future<Tensor[]> fetch(int u) throws Exception {
        Callable<Tensor[]> c = () -> new Tensor[]{tiers.read(u, Tiers.Kind.P), grads.take(u), tiers.read(u, Tiers.Kind.M),
                tiers.read(u, Tiers.Kind.V)};
        return reader == null ? CompletableFuture.completedFuture(c.call()) : reader.submit(c);
    }

    /** Seconds spent in update (waiting for the I/O thread), since the start. */
    double seconds() { return ns / 1e9; }
}
