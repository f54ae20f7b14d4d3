package m6j.parallel;

import m6j.TestPresets;
import m6j.checkpoint.Checkpoint;
import m6j.cli.Main;
import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.DataRoots;
import m6j.model.ExpertShard;
import m6j.model.Presets;
import m6j.runtime.FileTrees;
import m6j.runtime.Json;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import m6j.model.Lora;
import m6j.runtime.Safetensors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real multi-process runs on loopback (TCPStore + Gloo): data, expert and dp x ep parallel training reproduce the
 * single-process losses of the same global batch; checkpoints reload at other degrees; a killed worker is named.
 */
class ParallelTrainingTest {
    static Path dir, corpus, config;
    static final int STEPS = 20;

    @BeforeAll static void setUp(@TempDir Path tmp) throws IOException {
        Torch.init();
        dir = tmp;
        corpus = tmp.resolve("corpus");
        CorpusBuilder.build(new CorpusOptions(DataRoots.sample(Path.of(".")), corpus, 32, 0, 0.05, 80), false);
        config = tmp.resolve("micro-moe.json");
        Presets.write(TestPresets.get("micro-moe"), config);
    }

    static List<String> train(Path run, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--config", config.toString(), "--corpus", corpus.toString(),
                "--run", run.toString(), "--steps", Integer.toString(steps), "--batch-size", "4", "--warmup", "2",
                "--lr", "3e-3", "--checkpoint-every", "5", "--mixture", "itt=1,mtt=1,denoise=1,lm=1", "--threads", "1"));
        a.addAll(List.of(extra));
        return a;
    }

    static int run(List<String> args) { return Main.commandLine().execute(args.toArray(String[]::new)); }

    static int launch(int nproc, List<String> trainArgs) throws IOException {
        List<String> a = new ArrayList<>(List.of("launch", "--nproc", Integer.toString(nproc), "--master", "127.0.0.1:" + freePort(),
                "--threads-per-proc", "1"));
        a.addAll(trainArgs);
        return run(a);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) { return s.getLocalPort(); }
    }

    static double[] losses(Path run) throws IOException { return column(run, "loss"); }

    /** One field of every step in metrics.jsonl. */
    static double[] column(Path run, String field) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().filter(l -> !l.isBlank())
                .mapToDouble(l -> { try { return Json.MAPPER.readTree(l).path(field).asDouble(); } catch (IOException e) { throw new RuntimeException(e); } })
                .toArray();
    }

    static void assertSameLosses(double[] got, double[] want) {
        assertThat(got).hasSameSizeAs(want);
        for (int i = 0; i < want.length; i++)
            assertThat(Math.abs(got[i] - want[i]) / Math.abs(want[i])).as("relative difference at step %d (%f vs %f)", i, got[i], want[i])
                    .isLessThan(1e-4);
    }

    @Test void dataExpertAndCombinedParallelMatchOneProcess() throws IOException {
        Path one2 = dir.resolve("one-accum2"), one4 = dir.resolve("one-accum4");
        assertThat(run(train(one2, STEPS, "--accum", "2"))).isZero();
        assertThat(run(train(one4, STEPS, "--accum", "4"))).isZero();
        double[] ref2 = losses(one2), ref4 = losses(one4);

        Path dp2 = dir.resolve("dp2"), ep2 = dir.resolve("ep2"), both = dir.resolve("dp2ep2");
        assertThat(launch(2, train(dp2, STEPS, "--dp", "2"))).isZero();    // fails if replicas diverge
        assertSameLosses(losses(dp2), ref2);
        assertThat(launch(2, train(ep2, STEPS, "--ep", "2"))).isZero();
        assertSameLosses(losses(ep2), ref2);
        assertThat(launch(4, train(both, STEPS, "--dp", "2", "--ep", "2"))).isZero();
        assertSameLosses(losses(both), ref4);

        // The ep=2 checkpoint holds two expert shards; loaded whole (ep=1) and as four shards it is the same model.
        Path ck = Checkpoint.resolve(ep2);
        assertThat(ck.resolve("experts-01-of-02.safetensors")).exists();
        var full = Checkpoint.load(ck).model();
        for (int i = 0; i < 4; i++) {
            var part = Checkpoint.load(ck, new ExpertShard(i, 4)).model();
            Tensor w = part.params.get("blocks.0.moe.w1"), fw = full.params.get("blocks.0.moe.w1");
            assertThat(Tensors.toFloats(w)).containsExactly(Tensors.toFloats(fw.narrow(0, i, 1)));
        }
        // ... and training continues from it at ep=4 exactly as at ep=1 (same global batch of 4 micro-batches).
        Path at4 = dir.resolve("resume-ep4"), at1 = dir.resolve("resume-ep1");
        copy(ep2, at4);
        copy(ep2, at1);
        assertThat(launch(4, train(at4, STEPS + 3, "--ep", "4", "--resume"))).isZero();
        assertThat(run(train(at1, STEPS + 3, "--accum", "4", "--resume"))).isZero();
        double[] a4 = losses(at4), a1 = losses(at1);
        assertThat(a4).hasSize(STEPS + 3);
        assertSameLosses(Arrays.copyOfRange(a4, STEPS, STEPS + 3), Arrays.copyOfRange(a1, STEPS, STEPS + 3));
    }

    /**
     * LoRA fine-tuning at dp=2 and at ep=2 (the experts' adapters split with the experts) equals the one-process run
     * of the same global batch: the adapter's gradients are reduced, and cross the all-to-alls back. Adapter dropout
     * is off, since its masks are drawn per rank and would differ by design.
     */
    @Test void loraAtTwoProcessesMatchesOneProcess() throws IOException {
        Path base = dir.resolve("lora-base");
        assertThat(run(train(base, 4))).isZero();
        Function<Path, List<String>> ft = r -> new ArrayList<>(List.of("finetune", "--from", base.toString(), "--data", corpus.toString(),
                "--run", r.toString(), "--task", "chat", "--lora", "4", "--lora-dropout", "0", "--steps", "6", "--batch-size", "4",
                "--warmup", "1", "--lr", "1e-2", "--checkpoint-every", "3", "--threads", "1"));
        Path one = dir.resolve("lora-one"), two = dir.resolve("lora-dp2"), ep = dir.resolve("lora-ep2");
        List<String> oneArgs = ft.apply(one);
        oneArgs.addAll(List.of("--accum", "2"));
        assertThat(run(oneArgs)).isZero();
        List<String> twoArgs = ft.apply(two);
        twoArgs.addAll(List.of("--dp", "2"));
        assertThat(launch(2, twoArgs)).isZero();
        assertSameLosses(losses(two), losses(one));
        var m = Checkpoint.load(base).model();
        var a = Lora.load(Checkpoint.resolve(one), m).params.named();
        assertSameTensors(Lora.load(Checkpoint.resolve(two), m).params.named(), a);

        // ep=2: each rank holds half the experts and their adapters; then resumed from step 3 at ep=2 again.
        List<String> epArgs = ft.apply(ep);
        epArgs.addAll(List.of("--ep", "2"));
        assertThat(launch(2, epArgs)).isZero();
        Path ck = Checkpoint.resolve(ep);
        assertThat(ck.resolve("experts-01-of-02.safetensors")).exists();
        assertThat(ck.resolve("optimizer-experts-01-of-02.safetensors")).exists();
        assertSameLosses(losses(ep), losses(one));
        assertSameTensors(Lora.load(ck, m).params.named(), a);
        FileTrees.delete(ck);
        epArgs.add("--resume");
        assertThat(launch(2, epArgs)).isZero();
        assertSameTensors(Lora.load(Checkpoint.resolve(ep), m).params.named(), a);
    }

    /**
     * The itc objective at dp=2 and at ep=2 (batch 4 per rank, negatives gathered from both) equals one process with
     * batch 8: the same 8x8 logits, and gradients that reach every rank's own rows. A gather without them, or a
     * loss scaled as a per-rank mean, would drift from step 2 on. MoE balance losses are off: they are per rank.
     */
    @Test void contrastiveNegativesAreGatheredWithTheirGradients() throws IOException {
        Path cfg = dir.resolve("micro-moe-itc.json");
        Presets.write(TestPresets.get("micro-moe", Map.of("moe.auxLossWeight", 0.0, "moe.zLossWeight", 0.0)), cfg);
        Function<Path, List<String>> itc = r -> {
            List<String> a = train(r, 6);
            a.set(a.indexOf("--config") + 1, cfg.toString());
            a.set(a.indexOf("--mixture") + 1, "itc=1");
            a.set(a.indexOf("--lr") + 1, "5e-4");
            return a;
        };
        Path one = dir.resolve("itc-one"), dp = dir.resolve("itc-dp2"), ep = dir.resolve("itc-ep2");
        List<String> oneArgs = itc.apply(one);
        oneArgs.set(oneArgs.indexOf("--batch-size") + 1, "8");
        assertThat(run(oneArgs)).isZero();
        List<String> dpArgs = itc.apply(dp);
        dpArgs.addAll(List.of("--dp", "2"));
        assertThat(launch(2, dpArgs)).isZero();
        assertSameLosses(losses(dp), losses(one));
        assertSameLosses(column(dp, "gradNorm"), column(one, "gradNorm"));      // Adam would hide a scaled gradient
        List<String> epArgs = itc.apply(ep);
        epArgs.addAll(List.of("--ep", "2"));
        assertThat(launch(2, epArgs)).isZero();
        assertSameLosses(losses(ep), losses(one));
        assertSameLosses(column(ep, "gradNorm"), column(one, "gradNorm"));
        assertThat(losses(one)[5]).as("itc loss falls").isLessThan(losses(one)[0]);
    }

    static void assertSameTensors(Map<String, Tensor> got, Map<String, Tensor> want) {
        assertThat(got.keySet()).isEqualTo(want.keySet());
        for (var e : want.entrySet())
            assertThat(e.getValue().sub(got.get(e.getKey())).abs().max().item_double()).as(e.getKey()).isLessThan(1e-5);
    }

    /**
     * Activation checkpointing under expert parallelism: every block is recomputed in backward, all-to-alls and all,
     * and the losses are those of the run that keeps its activations.
     */
    @Test void activationCheckpointingWorksWithExpertParallelism() throws IOException {
        Path plain = dir.resolve("ep2-plain"), recomputed = dir.resolve("ep2-checkpointed");
        assertThat(launch(2, train(plain, 10, "--ep", "2"))).isZero();
        assertThat(launch(2, train(recomputed, 10, "--ep", "2", "--checkpoint-layers", "all"))).isZero();
        assertSameLosses(losses(recomputed), losses(plain));
    }

    /**
     * Full collections in the workers between handing each native store to its native owner and the owner's use
     * (-Dm6j.gcDuringRendezvous, passed on to the workers by the launcher): a store only libtorch still references
     * would be freed by then and the next store call would crash the worker (it did: SIGSEGV in PrefixStore::set).
     */
    @Test void rendezvousSurvivesCollectionsBetweenStoreAndGroupCreation() throws IOException {
        Path run = dir.resolve("gc");
        System.setProperty("m6j.gcDuringRendezvous", "true");
        try {
            assertThat(launch(2, train(run, 3, "--dp", "2"))).isZero();
        } finally {
            System.clearProperty("m6j.gcDuringRendezvous");
        }
        assertThat(losses(run)).hasSize(3);
        try (var s = Files.list(run)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("hs_err"));
        }
    }

    @Test void aKilledWorkerIsNamedAndTheJobResumes() throws Exception {
        Path run = dir.resolve("killed");
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true));
        try {
            CompletableFuture<Integer> job = CompletableFuture.supplyAsync(() -> {
                try { return launch(2, train(run, 400, "--ep", "2")); } catch (IOException e) { throw new RuntimeException(e); }
            });
            long deadline = System.currentTimeMillis() + 120_000;
            while (!Files.isDirectory(run.resolve("checkpoints/step-000005")) && System.currentTimeMillis() < deadline) Thread.sleep(100);
            assertThat(run.resolve("checkpoints/step-000005")).isDirectory();
            ProcessHandle victim = ProcessHandle.current().descendants()
                    .filter(p -> commandLine(p).contains("m6j.cli.Main")).reduce((a, b) -> b).orElseThrow();
            long killedAt = System.currentTimeMillis();
            victim.destroyForcibly();
            int code = job.get(60, TimeUnit.SECONDS);
            assertThat(code).isNotZero();
            assertThat(System.currentTimeMillis() - killedAt).isLessThan(60_000);
        } finally {
            System.setErr(err);
        }
        assertThat(captured.toString()).containsPattern("rank [01] exited with code \\d+ during step \\d+");
        int from = Integer.parseInt(Checkpoint.latest(run).orElseThrow().getFileName().toString().substring(5));
        assertThat(launch(2, train(run, from + 3, "--ep", "2", "--resume"))).isZero();
        assertThat(Checkpoint.latest(run)).get().extracting(p -> p.getFileName().toString())
                .isEqualTo(String.format("step-%06d", from + 3));
    }

    /**
     * The whole command line: ProcessHandle.Info.commandLine() stops at about 4 KiB on Linux, and the worker's
     * class path (the test class path) is longer than that, so read /proc where there is one.
     */
    static String commandLine(ProcessHandle p) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline")).replace('\0', ' ');
        } catch (IOException | RuntimeException e) {
            return p.info().commandLine().orElse("");
        }
    }

    static void copy(Path from, Path to) throws IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t); else Files.copy(p, t);
            }
        }
    }
}
