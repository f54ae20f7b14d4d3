package m6j.parallel;

import m6j.model.ForwardContext;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.optim.AdamW;
import m6j.task.Batch;
import m6j.task.Loss;
import m6j.train.ResidentState;
import m6j.train.TrainBench;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Random;

/**
 * One worker of `bench parallel`: full training steps of a preset under a strategy, with the time spent in
 * all-reduce and all-to-all measured around each collective, and the bytes each rank sends.
 */
public final class ParallelBench {
    private ParallelBench() {}

    public static String run(Groups g, M6Config c, int batch, int textLen, int warmup, int steps) {
        GlooCluster cluster = new GlooCluster(g);
        M6Model model = new M6Model(c, ScalarType.Float, 1, null, cluster.shard());
        ResidentState state = ResidentState.of(model, AdamW.Options.defaults(0.05), cluster);
        Random rng = new Random(1 + g.env.rank());
        double stepMs = 0;
        for (int i = 0; i < warmup + steps; i++) {
            if (i == warmup) cluster.stats.reset();
            long t0 = System.nanoTime();
            try (PointerScope scope = new PointerScope()) {
                Batch b = TrainBench.batch(c, batch, textLen, rng);
                ForwardContext ctx = cluster.trainContext();
                Tensor loss = Loss.of(model, b, ctx);
                ctx.backward(ctx.auxLoss() == null ? loss : loss.add(ctx.auxLoss()));
            }
            state.update(1e-4, 1.0);
            g.barrier();
            if (i >= warmup) stepMs += (System.nanoTime() - t0) / 1e6;
        }
        CommStats s = cluster.stats;
        double step = stepMs / steps, ar = s.allreduceMs() / steps, a2a = s.alltoallMs() / steps;
        double mb = (s.allreduceBytes() + s.alltoallBytes()) / (double) steps / (1 << 20);
        double bw = s.alltoallMs() > 0 ? s.alltoallBytes() / (s.alltoallMs() / 1000) / (1 << 20) : 0;
        return String.format("dp=%d ep=%d  %-7s step %7.1f ms | all-reduce %6.1f ms | all-to-all %6.1f ms (%d calls) | comm %4.1f%% of step | %.1f MiB sent/step/rank | all-to-all %.0f MiB/s",
                g.strategy.dp(), g.strategy.ep(), c.name(), step, ar, a2a, s.alltoallCalls() / steps, 100 * (ar + a2a) / step, mb, bw);
    }
}
