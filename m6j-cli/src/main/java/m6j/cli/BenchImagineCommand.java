package m6j.cli;

import m6j.infer.Imaginer;
import m6j.infer.Sampling;
import m6j.runtime.Machine;
import m6j.runtime.Memory;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.concurrent.Callable;

/** `m6j bench imagine`: text-to-image throughput (KV-cached code decoding + VQGAN decoding). */
@Command(name = "imagine", mixinStandardHelpOptions = true,
        description = "Images/s of text-to-image with the KV cache, with and without classifier-free guidance (results go in docs/BENCHMARKS.md).")
public final class BenchImagineCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;

    @Option(names = "-n", defaultValue = "64", description = "Images per timed run (default: ${DEFAULT-VALUE}).") int n;
    @Option(names = "--prompt", defaultValue = "an ankle boot") String prompt;
    @Option(names = "--repeats", defaultValue = "3", description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).") int repeats;

    @Override public Integer call() throws Exception {
        if (n < 1 || repeats < 1) throw new IllegalArgumentException("-n and --repeats must be >= 1");
        common.init();
        try (Imaginer im = Imaginer.load(model.model)) {
            im.images(prompt, Math.min(8, n), new Imaginer.Options(new Sampling(1, 0, 1, 99), 3.0));   // warm-up
            System.out.printf("m6j bench imagine: %s, %d codes per image, %d threads, up to %d KV rows per step, matmul %.0f GFLOP/s%n",
                    model.model, im.vocab.codes(), torch.get_num_threads(), im.engine.options().maxBatch(), Machine.matmulGflops());
            for (double g : new double[]{3.0, 1.0}) {
                double[] t = new double[repeats];
                for (int r = 0; r < repeats; r++) {
                    long t0 = System.nanoTime();
                    im.images(prompt, n, new Imaginer.Options(new Sampling(1, 0, 1, r), g));
                    t[r] = (System.nanoTime() - t0) / 1e9;
                }
                Arrays.sort(t);
                double med = t[repeats / 2];
                System.out.printf("guidance %.1f (%s): %.1f images/s, %.0f code tokens/s (median of %d runs of %d images, %.2f s each)%n",
                        g, g == 1.0 ? "one row per image" : "two rows per image", n / med, n * im.vocab.codes() / med, repeats, n, med);
            }
            System.out.println("peak RSS " + Memory.mib(Memory.peakRss()));
        }
        return 0;
    }
}
