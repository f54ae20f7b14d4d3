package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.infer.Engine;
import m6j.infer.Imaginer;
import m6j.infer.Sampling;
import m6j.model.M6Config;
import m6j.runtime.Machine;
import m6j.runtime.Memory;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.concurrent.Callable;

/**
 * `m6j bench imagine`: text-to-image throughput (KV-cached code decoding, then the VQGAN decoder, timed apart), and
 * the decode step against its FLOP bound: the matmul FLOPs of one step of all its rows over the matmul rate
 * measured in this run.
 */
@Command(name = "imagine", mixinStandardHelpOptions = true,
        description = "Images/s of text-to-image with the KV cache, with and without classifier-free guidance, and the decode step against its FLOP bound (results go in docs/BENCHMARKS.md).")
public final class BenchImagineCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;

    @Option(names = "-n", defaultValue = "64", description = "Images per timed run (default: ${DEFAULT-VALUE}).") int n;
    @Option(names = "--prompt", defaultValue = "an ankle boot") String prompt;
    @Option(names = "--repeats", defaultValue = "3", description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).") int repeats;

    @Override public Integer call() throws Exception {
        if (n < 1 || repeats < 1) throw new IllegalArgumentException("-n and --repeats must be >= 1");
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        long[] step = new long[3];                                          // steps, their nanos, their rows
        Engine.Stats stats = new Engine.Stats() {
            @Override public void decodeStep(int rows, long nanos) { step[0]++; step[1] += nanos; step[2] += rows; }
        };
        try (Engine engine = new Engine(l.model(), l.tokenizer(), Engine.Options.local(), stats);
             Imaginer im = Imaginer.of(l, engine).orElseThrow(() -> new IllegalArgumentException(model.model
                     + " does not draw: it was trained without --vqgan"))) {
            im.images(prompt, Math.min(8, n), new Imaginer.Options(new Sampling(1, 0, 1, 99), 3.0));   // warm-up
            double gflops = Machine.matmulGflops();
            M6Config c = l.model().config;
            // Mean FLOPs of one row's decode step over the positions the codes take (after the prompt).
            double rowFlops = 0;
            for (int i = 0; i < im.vocab.codes(); i++) rowFlops += BenchDecodeCommand.stepFlops(c, im.vocab.promptLen() + i, im.vocab.codebookSize());
            rowFlops /= im.vocab.codes();
            System.out.printf("m6j bench imagine: %s, %d codes per image, %d threads, up to %d KV rows per step, matmul %.0f GFLOP/s (this run)%n",
                    model.model, im.vocab.codes(), torch.get_num_threads(), engine.options().maxBatch(), gflops);
            for (double g : new double[]{3.0, 1.0}) {
                double[] t = new double[repeats], draw = new double[repeats], ms = new double[repeats], rows = new double[repeats];
                for (int r = 0; r < repeats; r++) {
                    Arrays.fill(step, 0);
                    long t0 = System.nanoTime();
                    long[][] codes = im.codes(prompt, n, new Imaginer.Options(new Sampling(1, 0, 1, r), g));
                    long t1 = System.nanoTime();
                    im.vq.images(codes);
                    t[r] = (System.nanoTime() - t0) / 1e9;
                    draw[r] = (System.nanoTime() - t1) / 1e9;
                    ms[r] = step[1] / 1e6 / Math.max(1, step[0]);
                    rows[r] = step[2] / (double) Math.max(1, step[0]);
                }
                double med = BenchDecodeCommand.median(t), stepMs = BenchDecodeCommand.median(ms), meanRows = BenchDecodeCommand.median(rows);
                double boundMs = meanRows * rowFlops / (gflops * 1e9) * 1e3;
                System.out.printf("guidance %.1f (%s): %.1f images/s, %.0f code tokens/s (median of %d runs of %d images, %.2f s each, %.2f s of it the VQGAN decoder)%n",
                        g, g == 1.0 ? "one row per image" : "two rows per image", n / med, n * im.vocab.codes() / med, repeats, n, med, BenchDecodeCommand.median(draw));
                System.out.printf("   decode step: %.2f ms for %.0f rows; FLOP bound %.2f ms (%.1f MFLOP per row at this rate): %.1fx the bound%n",
                        stepMs, meanRows, boundMs, rowFlops / 1e6, stepMs / boundMs);
            }
            System.out.println("peak RSS " + Memory.mib(Memory.peakRss()));
        }
        return 0;
    }
}
