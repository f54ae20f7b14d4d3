package m6j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.nio.file.ExtendedOpenOption;
import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.CorpusReport;
import m6j.data.DataRoots;
import m6j.model.M6Config;
import m6j.model.Presets;
import m6j.offload.OffloadPlan;
import m6j.runtime.Bytes;
import m6j.runtime.ChildJvm;
import m6j.runtime.FileTrees;
import m6j.runtime.Json;
import m6j.runtime.Memory;
import m6j.runtime.MemoryCgroup;
import m6j.runtime.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * Trains one model twice, each in its own JVM so their peak RSS are apart: under --memory-budget (offloaded) and
 * with everything in memory; then compares per-step losses, step time and peak RSS. With --cgroup the offloaded
 * run is confined to a memory cgroup of the budget plus an overhead, page cache included, so its disk tier is read
 * from disk; its storage I/O per step (the kernel's count) is set against the disk's measured sequential bandwidth.
 */
@Command(name = "offload", mixinStandardHelpOptions = true,
        description = "Granular offloading: the same training run with --memory-budget and all in memory, side by side.")
public final class BenchOffloadCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "xl-moe") String preset;
    @Option(names = "--config", description = "A model config JSON (as a checkpoint's config.json) instead of --preset.") Path config;
    @Option(names = "--memory-budget", defaultValue = "2GiB") String budget;
    @Option(names = "--steps", defaultValue = "50") int steps;
    @Option(names = "--batch-size", defaultValue = "8") int batchSize;
    @Option(names = "--skip", defaultValue = "5", description = "Steps left out of the step-time means (warm-up).") int skip;
    @Option(names = "--dir", defaultValue = "work/bench-offload", description = "Corpus and the two runs go here.") Path dir;
    @Option(names = "--blas-threads", defaultValue = "1", description = "OPENBLAS_NUM_THREADS for both runs (its own thread pool"
            + " collapsed to 4-6 GFLOP/s on a loaded 2-core VM where one thread kept 60).") int blasThreads;
    @Option(names = "--offloaded-only", description = "Skip the all-in-memory arm (it needs the whole state in RAM).") boolean offloadedOnly;
    @Option(names = "--cgroup", description = "Run the offloaded arm in a fresh memory cgroup limited to --memory-budget plus"
            + " --cgroup-overhead, page cache included (needs root; cgroup v1 or v2).") boolean cgroup;
    @Option(names = "--cgroup-overhead", defaultValue = "1GiB", description = "What the cgroup allows above the budget: the JVM"
            + " (heap up to -Xmx1g), libtorch, activations, data; the xl-moe run's RSS was 630 MiB above its budget.") String overhead;
    @Option(names = "--disk-test", defaultValue = "4GiB", description = "Bytes written and read back with O_DIRECT in --dir to"
            + " measure the disk's sequential bandwidth (0: skip).") String diskTest;

    @Override public Integer call() throws Exception {
        if (steps <= skip || batchSize < 1) throw new IllegalArgumentException("need --steps > --skip and --batch-size >= 1");
        long b = Bytes.parse(budget, "--memory-budget"), over = Bytes.parse(overhead, "--cgroup-overhead"), test = Bytes.parse(diskTest, "--disk-test");
        Torch.init();
        M6Config cfg = config != null ? Presets.read(config) : Presets.get(preset);
        OffloadPlan plan = OffloadPlan.of(cfg, b);
        long all = OffloadPlan.of(cfg, Long.MAX_VALUE).residentBytes();
        System.out.printf("model %s: full training state %.2f GiB = %.1f x the %s budget%n%s%n", config != null ? config : preset,
                all / 1073741824.0, all / (double) b, budget, plan.summary());
        Files.createDirectories(dir);
        double[] bw = test > 0 ? diskBandwidth(dir, test) : null;
        Path corpus = dir.resolve("corpus");
        if (!Files.isRegularFile(corpus.resolve(CorpusReport.FILE_NAME)))
            CorpusBuilder.build(new CorpusOptions(DataRoots.sample(home()), corpus, 32, 0L, 0.05, 0), false);
        Arm off;
        if (cgroup) {
            try (MemoryCgroup g = MemoryCgroup.create(Path.of("/sys/fs/cgroup"), "m6j-bench-offload-" + ProcessHandle.current().pid(), b + over)) {
                System.out.printf("cgroup %s (%s): memory limit %s = budget %s + overhead %s, page cache included%n", g.dir(),
                        g.version(), mib(g.limit()), budget, overhead);
                try {
                    off = arm("offloaded", corpus, dir.resolve("run-offload"), List.of("--memory-budget", budget), g);
                } finally {
                    System.out.printf("cgroup: peak usage %s of the %s limit; limit hit %d times; %d OOM kills%n", mib(g.peak()),
                            mib(g.limit()), g.failures(), g.oomKills());
                }
            }
        } else off = arm("offloaded", corpus, dir.resolve("run-offload"), List.of("--memory-budget", budget), null);
        System.out.println(off.describe(skip));
        System.out.println(off.io(skip, bw));
        if (offloadedOnly) return 0;
        Arm mem = arm("in-memory", corpus, dir.resolve("run-memory"), List.of(), null);
        System.out.println(mem.describe(skip));
        double maxRel = 0;
        for (int i = 0; i < steps; i++) maxRel = Math.max(maxRel, Math.abs(off.loss[i] - mem.loss[i]) / Math.abs(mem.loss[i]));
        System.out.printf("losses: max relative difference over %d steps %.2e (first step %.6f vs %.6f, last %.6f vs %.6f)%n",
                steps, maxRel, off.loss[0], mem.loss[0], off.loss[steps - 1], mem.loss[steps - 1]);
        System.out.printf("step time offloaded / in memory: %.2fx; peak RSS %s vs %s (budget %s, so %s above it)%n",
                off.meanMs(skip) / mem.meanMs(skip), mib(off.peakRss), mib(mem.peakRss), budget, mib(off.peakRss - b));
        return 0;
    }

    private record Arm(String name, double[] loss, double[] ms, double[] read, double[] written, long peakRss, JsonNode offload) {
        double meanMs(int skip) { return mean(ms, skip); }

        private static double mean(double[] xs, int skip) {
            double s = 0;
            for (int i = skip; i < xs.length; i++) s += xs[i];
            return s / (xs.length - skip);
        }

        /** Storage I/O per step (the kernel's count for the training JVM) and, given {write, read} bytes/s, the physical limit. */
        String io(int skip, double[] bw) {
            double r = mean(read, skip), w = mean(written, skip), s = meanMs(skip) / 1000;
            if (r < 0 || w < 0) return String.format("%-10s storage I/O per step: unknown (no /proc/self/io)", name);
            String out = String.format("%-10s storage I/O per step (steps %d..%d): read %.2f GiB, written %.2f GiB; losses first %.4f,"
                    + " last %.4f", name, skip, ms.length - 1, r / GIB, w / GIB, loss[0], loss[loss.length - 1]);
            if (bw == null || r + w == 0) return out;
            double limit = w / bw[0] + r / bw[1];
            return out + String.format("%n           at the disk's sequential bandwidth these take %.1f s (write %.0f MiB/s, read"
                    + " %.0f MiB/s); step time %.1f s = %.2f x that limit", limit, bw[0] / 1048576, bw[1] / 1048576, s, s / limit);
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
    private Arm arm(String name, Path corpus, Path run, List<String> extra, MemoryCgroup g) throws IOException, InterruptedException {
        FileTrees.delete(run);
        Files.createDirectories(run);
        List<String> args = new ArrayList<>(List.of("train",
                config != null ? "--config" : "--preset", config != null ? config.toString() : preset, "--corpus", corpus.toString(),
                "--run", run.toString(), "--steps", Integer.toString(steps), "--batch-size", Integer.toString(batchSize),
                "--checkpoint-every", "-1", "--warmup", "5", "--lr", "1e-3"));     // no checkpoint: the state may not fit on disk twice
        args.addAll(extra);
        List<String> cmd = ChildJvm.command(false, List.of("-Xmx1g", "-Dorg.bytedeco.javacpp.maxBytes=0",
                "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-Dm6j.home=" + home()), run, args);
        System.out.println("== " + name + ": " + String.join(" ", args));
        if (g != null) cmd = g.wrap(cmd);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("OPENBLAS_NUM_THREADS", Integer.toString(blasThreads));
        if (pb.start().waitFor() != 0) throw new IOException(name + " run failed (its output is above)");
        List<JsonNode> recs = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) if (!line.isBlank()) recs.add(Json.MAPPER.readTree(line));
        int n = recs.size();
        double[] loss = new double[n], ms = new double[n], read = new double[n], written = new double[n];
        for (int i = 0; i < n; i++) {
            loss[i] = recs.get(i).path("loss").asDouble();
            ms[i] = recs.get(i).path("ms").asDouble();
            read[i] = recs.get(i).path("readBytes").asDouble(-1);
            written[i] = recs.get(i).path("writeBytes").asDouble(-1);
        }
        JsonNode summary = Json.MAPPER.readTree(run.resolve(TrainCommand.SUMMARY).toFile());
        return new Arm(name, loss, ms, read, written, summary.path("peakRssBytes").asLong(-1), summary.path("offload"));
    }

    private static final double GIB = 1 << 30;

    /**
     * The disk's sequential bandwidth under dir, {write, read} in bytes/s: bytes written in 64 MiB blocks with
     * O_DIRECT (no page cache) and synced, then read back the same way; the file is deleted.
     */
    static double[] diskBandwidth(Path dir, long bytes) throws IOException {
        int block = 64 << 20;
        ByteBuffer buf = ByteBuffer.allocateDirect(block + 4096).alignedSlice(4096).limit(block);
        Random rnd = new Random(1);
        while (buf.remaining() >= 8) buf.putLong(rnd.nextLong());          // not zeros: nothing below may shortcut them
        long n = Math.max(1, bytes / block);
        Path f = dir.resolve("disk-bandwidth.tmp");
        double[] bw = new double[2];
        try {
            long t0 = System.nanoTime();
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING, ExtendedOpenOption.DIRECT)) {
                for (long i = 0; i < n; i++) for (buf.clear(); buf.hasRemaining(); ) ch.write(buf, i * block + buf.position());
                ch.force(true);
            }
            bw[0] = n * (double) block / ((System.nanoTime() - t0) / 1e9);
            t0 = System.nanoTime();
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
                for (long i = 0; i < n; i++) for (buf.clear(); buf.hasRemaining(); ) {
                    if (ch.read(buf, i * block + buf.position()) < 0) throw new IOException("short read of " + f);
                }
            }
            bw[1] = n * (double) block / ((System.nanoTime() - t0) / 1e9);
        } catch (UnsupportedOperationException e) {
            throw new IOException("cannot measure the disk under " + dir + " with O_DIRECT (" + e.getMessage() + "); use --disk-test 0", e);
        } finally {
            Files.deleteIfExists(f);
        }
        System.out.printf("disk under %s: sequential write %.0f MiB/s, read %.0f MiB/s (%s each way, O_DIRECT)%n", dir,
                bw[0] / 1048576, bw[1] / 1048576, mib(n * (long) block));
        return bw;
    }

    private static String mib(long bytes) { return Memory.mib(bytes); }

    private static Path home() { return Path.of(System.getProperty("m6j.home", ".")); }
}
