package m6j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.CorpusReport;
import m6j.data.DataRoots;
import m6j.model.Presets;
import m6j.offload.OffloadPlan;
import m6j.runtime.Bytes;
import m6j.runtime.ChildJvm;
import m6j.runtime.FileTrees;
import m6j.runtime.Json;
import m6j.runtime.Memory;
import m6j.runtime.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Trains one model twice, each in its own JVM so their peak RSS are apart: under --memory-budget (offloaded) and
 * with everything in memory; then compares per-step losses, step time and peak RSS.
 */
@Command(name = "offload", mixinStandardHelpOptions = true,
        description = "Granular offloading: the same training run with --memory-budget and all in memory, side by side.")
public final class BenchOffloadCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "xl-moe") String preset;
    @Option(names = "--memory-budget", defaultValue = "2GiB") String budget;
    @Option(names = "--steps", defaultValue = "50") int steps;
    @Option(names = "--batch-size", defaultValue = "8") int batchSize;
    @Option(names = "--skip", defaultValue = "5", description = "Steps left out of the step-time means (warm-up).") int skip;
    @Option(names = "--dir", defaultValue = "work/bench-offload", description = "Corpus and the two runs go here.") Path dir;
    @Option(names = "--blas-threads", defaultValue = "1", description = "OPENBLAS_NUM_THREADS for both runs (its own thread pool"
            + " collapsed to 4-6 GFLOP/s on a loaded 2-core VM where one thread kept 60).") int blasThreads;
    @Option(names = "--offloaded-only", description = "Skip the all-in-memory arm (it needs the whole state in RAM).") boolean offloadedOnly;

    @Override public Integer call() throws Exception {
        if (steps <= skip || batchSize < 1) throw new IllegalArgumentException("need --steps > --skip and --batch-size >= 1");
        long b = Bytes.parse(budget, "--memory-budget");
        Torch.init();
        OffloadPlan plan = OffloadPlan.of(Presets.get(preset), b);
        long all = OffloadPlan.of(Presets.get(preset), Long.MAX_VALUE).residentBytes();
        System.out.printf("model %s: full training state %.2f GiB = %.1f x the %s budget%n%s%n", preset, all / 1073741824.0,
                all / (double) b, budget, plan.summary());
        Path corpus = dir.resolve("corpus");
        if (!Files.isRegularFile(corpus.resolve(CorpusReport.FILE_NAME)))
            CorpusBuilder.build(new CorpusOptions(DataRoots.sample(home()), corpus, 32, 0L, 0.05, 0), false);
        Arm off = arm("offloaded", corpus, dir.resolve("run-offload"), List.of("--memory-budget", budget));
        System.out.println(off.describe(skip));
        if (offloadedOnly) return 0;
        Arm mem = arm("in-memory", corpus, dir.resolve("run-memory"), List.of());
        System.out.println(mem.describe(skip));
        double maxRel = 0;
        for (int i = 0; i < steps; i++) maxRel = Math.max(maxRel, Math.abs(off.loss[i] - mem.loss[i]) / Math.abs(mem.loss[i]));
        System.out.printf("losses: max relative difference over %d steps %.2e (first step %.6f vs %.6f, last %.6f vs %.6f)%n",
                steps, maxRel, off.loss[0], mem.loss[0], off.loss[steps - 1], mem.loss[steps - 1]);
        System.out.printf("step time offloaded / in memory: %.2fx; peak RSS %s vs %s (budget %s, so %s above it)%n",
                off.meanMs(skip) / mem.meanMs(skip), mib(off.peakRss), mib(mem.peakRss), budget, mib(off.peakRss - b));
        return 0;
    }

    private record Arm(String name, double[] loss, double[] ms, long peakRss, JsonNode offload) {
        double meanMs(int skip) {
            double s = 0;
            for (int i = skip; i < ms.length; i++) s += ms[i];
            return s / (ms.length - skip);
        }

        String describe(int skip) {
            String off = offload.isMissingNode() ? "" : String.format("%n           offload: %,d expert loads, %,d experts skipped (no tokens routed);"
                            + " peak working buffers %s; waited %.0f s for offload I/O, %.0f s of it in the streaming optimizer",
                    offload.path("expertLoads").asLong(), offload.path("expertSkips").asLong(), mib(offload.path("peakWorkingBytes").asLong()),
                    offload.path("ioWaitSeconds").asDouble(), offload.path("optimizerSeconds").asDouble());
            return String.format("%-10s mean step %.0f ms (steps %d..%d), peak RSS %s%s", name, meanMs(skip), skip, ms.length - 1,
                    mib(peakRss), off);
        }
    }

    /** One arm in its own JVM; its figures come from the run's metrics.jsonl and train-summary.json. */
    private Arm arm(String name, Path corpus, Path run, List<String> extra) throws IOException, InterruptedException {
        FileTrees.delete(run);
        Files.createDirectories(run);
        List<String> args = new ArrayList<>(List.of("train",
                "--preset", preset, "--corpus", corpus.toString(), "--run", run.toString(), "--steps", Integer.toString(steps),
                "--batch-size", Integer.toString(batchSize), "--checkpoint-every", "0", "--warmup", "5", "--lr", "1e-3"));
        args.addAll(extra);
        List<String> cmd = ChildJvm.command(false, List.of("-Xmx1g", "-Dorg.bytedeco.javacpp.maxBytes=0",
                "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-Dm6j.home=" + home()), run, args);
        System.out.println("== " + name + ": " + String.join(" ", args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("OPENBLAS_NUM_THREADS", Integer.toString(blasThreads));
        if (pb.start().waitFor() != 0) throw new IOException(name + " run failed (its output is above)");
        List<JsonNode> recs = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) if (!line.isBlank()) recs.add(Json.MAPPER.readTree(line));
        double[] loss = new double[recs.size()], ms = new double[recs.size()];
        for (int i = 0; i < recs.size(); i++) {
            loss[i] = recs.get(i).path("loss").asDouble();
            ms[i] = recs.get(i).path("ms").asDouble();
        }
        JsonNode summary = Json.MAPPER.readTree(run.resolve(TrainCommand.SUMMARY).toFile());
        return new Arm(name, loss, ms, summary.path("peakRssBytes").asLong(-1), summary.path("offload"));
    }

    private static String mib(long bytes) { return Memory.mib(bytes); }

    private static Path home() { return Path.of(System.getProperty("m6j.home", ".")); }
}
