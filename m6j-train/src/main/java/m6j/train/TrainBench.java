package m6j.train;

import m6j.model.ForwardContext;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.model.MoeConfig;
import m6j.optim.AdamW;
import m6j.runtime.Machine;
import m6j.runtime.Memory;
import m6j.task.Batch;
import m6j.task.Loss;
import m6j.task.Objective;
import m6j.task.Sequence;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Times full training steps (forward, loss, backward, clip, AdamW) on fixed-shape image+text batches and
 * reports model FLOP utilisation against the fp32 matmul rate measured in the same process.
 */
public final class TrainBench {
    public record Result(String preset, int batch, int seqLen, double msPerStep, double tokensPerSecond,
                         double modelGflopPerStep, double achievedGflops, double matmulGflops, double mfu, long peakRss,
                         long params, long activeParams, Machine.Peak peak, List<double[]> trace) {
        public String describe() {
            return String.format(
                    "bench train %s: batch %d x %d positions, %,d params (%,d active)%n"
                            + "  %.1f ms/step  %.0f tokens/s  %.2f GFLOP/step  %.1f GFLOP/s achieved%n"
                            + "  matmul peak (1024^3 fp32, same run): %.1f GFLOP/s  ->  MFU %.1f%%%n"
                            + "  CPU theoretical peak: %s  ->  MFU %.1f%%%n"
                            + "  peak RSS %s",
                    preset, batch, seqLen, params, activeParams, msPerStep, tokensPerSecond, modelGflopPerStep,
                    achievedGflops, matmulGflops, 100 * mfu, peak.derivation(), 100 * achievedGflops / peak.gflops(), Memory.mib(peakRss));
        }
    }

    private TrainBench() {}

    public static Result run(M6Config c, int batch, int textLen, int warmup, int steps) {
        return run(c, batch, textLen, warmup, steps, Set.of());
    }

    /** checkpointed: blocks whose activations are recomputed in backward. */
    public static Result run(M6Config c, int batch, int textLen, int warmup, int steps, Set<Integer> checkpointed) {
        M6Model model = new M6Model(c, ScalarType.Float, 1);
        ResidentState state = ResidentState.of(model, AdamW.Options.defaults(0.05), Cluster.LOCAL);
        Random rng = new Random(1);
        List<Double> times = new ArrayList<>();
        List<double[]> trace = new ArrayList<>();                 // per step, warmup included: loss, aux, gradient norm
        Batch b0 = batch(c, batch, textLen, rng);
        for (int i = 0; i < warmup + steps; i++) {
            long t0;
            try (PointerScope scope = new PointerScope()) {
                Batch b = batch(c, batch, textLen, rng);
                t0 = System.nanoTime();
                ForwardContext ctx = ForwardContext.train().checkpoint(checkpointed);
                Tensor loss = Loss.of(model, b, ctx);
                ctx.backward(ctx.auxLoss() == null ? loss : loss.add(ctx.auxLoss()));
                trace.add(new double[]{loss.item_double(), 0, 0});
                t0 = System.nanoTime() - t0;
                if (ctx.auxLoss() != null) trace.get(i)[1] = ctx.auxLoss().item_double();     // untimed
            }
            long t1 = System.nanoTime();
            trace.get(i)[2] = state.update(1e-4, 1.0);
            if (i >= warmup) times.add((t0 + System.nanoTime() - t1) / 1e6);
        }
        double matmul = Machine.matmulGflops();               // measured last: JIT threads compete for the cores early on
        double[] t = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double ms = t[t.length / 2];
        int s = c.patches() + textLen;
        double flops = stepFlops(c, batch, s, b0.targetCount());
        long[] counts = c.parameterCounts();
        double achieved = flops / (ms / 1000) / 1e9;
        return new Result(c.name(), batch, s, ms, batch * (double) s / (ms / 1000), flops / 1e9, achieved, matmul,
                achieved / matmul, Memory.peakRss(), counts[0], counts[1], Machine.theoreticalPeak(), trace);
    }

    /** Image + [BOS, caption...] batches with random content of fixed shape: loss on every text position. */
    public static Batch batch(M6Config c, int b, int textLen, Random rng) {
        List<Sequence> seqs = new ArrayList<>();
        List<byte[]> imgs = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            int[] in = new int[textLen], tg = new int[textLen];
            for (int j = 0; j < textLen; j++) in[j] = 5 + rng.nextInt(c.vocabSize() - 5);
            for (int j = 0; j < textLen; j++) tg[j] = j + 1 < textLen ? in[j + 1] : 2;
            seqs.add(new Sequence(in, 1, tg));
            byte[] img = new byte[c.imageSize() * c.imageSize() * c.channels()];
            rng.nextBytes(img);
            imgs.add(img);
        }
        return Batch.of(Objective.ITT, seqs, imgs, c.imageSize(), c.channels(), c.patches());
    }

    /**
     * Useful FLOPs of one step (forward + backward = 3x forward): matmuls of attention projections, FFN (k active
     * experts) and router over all B*S positions, attention scores and values, patch embedding, LM head on targets.
     */
    public static double stepFlops(M6Config c, int b, int s, long targets) {
        double d = c.dModel(), f = c.dFF();
        MoeConfig m = c.moe();
        double perPos = 0;
        for (int l = 0; l < c.nLayers(); l++) {
            perPos += 4 * d * d;
            perPos += m.isMoeLayer(l) ? (m.k() + m.sharedExperts()) * 2 * d * f + d * m.experts() : 2 * d * f;
        }
        double fwd = 2 * perPos * b * s                      // 2 FLOPs per multiply-add
                + c.nLayers() * 4.0 * b * (double) s * s * d   // QK^T and AV
                + 2.0 * b * c.patches() * c.patchDim() * d     // patch embedding
                + 2.0 * targets * c.vocabSize() * d;           // LM head
        return 3 * fwd;
    }

}
