package m6j.train;

import m6j.TestPresets;
import m6j.checkpoint.Checkpoint;
import m6j.runtime.Json;
import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.DataRoots;
import m6j.model.M6Config;
import m6j.runtime.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainerTest {
    static Path corpus;
    static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    static final M6Config MICRO = TestPresets.get("micro");

    @BeforeAll static void setUp() throws IOException { corpus(); }

    /** A small corpus from the committed sample, built once per test JVM under target/. */
    static synchronized void corpus() throws IOException {
        Torch.init();
        if (corpus != null) return;
        Path where = Path.of("target", "test-corpus-150");
        CorpusBuilder.build(new CorpusOptions(DataRoots.sample(Path.of(".")), where, 32, 0, 0.05, 150), false);
        corpus = where;
    }

    static TrainOptions opts(Path run, int steps, int every) {
        return TrainOptions.builder(corpus, run).steps(steps).batchSize(4).lr(3e-3).warmup(2).seed(7).checkpointEvery(every)
                .keepCheckpoints(5).mixture("itt=1,mtt=1,denoise=1,lm=1").sentinels(8).build();
    }

    @Test void resumeGivesTheSameLossesAsAnUninterruptedRun(@TempDir Path dir) throws IOException {
        Trainer full = new Trainer(MICRO, opts(dir.resolve("a"), 8, 4), false, QUIET);
        full.run(8);
        List<StepRecord> a = full.history();

        Trainer first = new Trainer(MICRO, opts(dir.resolve("b"), 8, 4), false, QUIET);
        first.run(4);                                   // "interrupted" after the step-4 checkpoint
        Trainer resumed = new Trainer(MICRO, opts(dir.resolve("b"), 8, 4), true, QUIET);
        assertThat(resumed.step()).isEqualTo(4);
        resumed.run(8);
        List<StepRecord> b = resumed.history();
        assertThat(b).hasSize(8);
        for (int i = 0; i < 8; i++) {
            assertThat(b.get(i).objective()).isEqualTo(a.get(i).objective());
            assertThat(b.get(i).loss()).as("loss at step %d", i).isEqualTo(a.get(i).loss());
        }
        assertThat(Files.readAllLines(dir.resolve("b/metrics.jsonl"))).hasSize(8);
        assertThat(dir.resolve("b/loss.png")).exists();
    }

    @Test void lossGoesDownOnRepeatedData(@TempDir Path dir) throws IOException {
        Trainer t = new Trainer(MICRO, opts(dir.resolve("r"), 30, 0), false, QUIET);
        t.run(30);
        List<StepRecord> h = t.history();
        double early = h.subList(0, 5).stream().mapToDouble(StepRecord::loss).average().orElseThrow();
        double late = h.subList(25, 30).stream().mapToDouble(StepRecord::loss).average().orElseThrow();
        assertThat(late).isLessThan(early);
    }

    @Test void heldOutLossIsLoggedAndEarlyStoppingEndsARunThatStopsImproving(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("early");
        // a vanishing learning rate: the held-out loss never improves after the first evaluation
        TrainOptions o = opts(run, 20, 0).toBuilder().lr(1e-12).minLr(0).evalEvery(2).patience(2).build();
        Trainer t = new Trainer(MICRO, o, false, QUIET);
        t.run(20);
        assertThat(t.step()).as("stopped after 2 evaluations without improvement").isEqualTo(6);
        List<String> h = Files.readAllLines(run.resolve("heldout.jsonl"));
        assertThat(h).hasSize(3);
        assertThat(Json.MAPPER.readTree(h.get(2)).path("bestStep").asInt()).isEqualTo(2);
        assertThat(Checkpoint.latest(run)).get().extracting(p -> p.getFileName().toString()).isEqualTo("step-000006");
        // with a real learning rate the held-out loss goes down
        Path run2 = dir.resolve("improves");
        new Trainer(MICRO, opts(run2, 12, 0).toBuilder().evalEvery(4).build(), false, QUIET).run(12);
        List<String> h2 = Files.readAllLines(run2.resolve("heldout.jsonl"));
        assertThat(Json.MAPPER.readTree(h2.get(2)).path("loss").asDouble()).isLessThan(Json.MAPPER.readTree(h2.get(0)).path("loss").asDouble());
    }

    @Test void interruptedSaveIsNotACheckpoint(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("c");
        new Trainer(MICRO, opts(run, 2, 1), false, QUIET).run(2);
        Files.createDirectories(run.resolve("checkpoints/step-000003.tmp"));    // what a crash mid-save leaves
        assertThat(Checkpoint.latest(run)).get().extracting(p -> p.getFileName().toString()).isEqualTo("step-000002");
    }

    @Test void resumeFallsBackPastACheckpointCutShortToThePreviousOne(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("cut");
        new Trainer(MICRO, opts(run, 4, 2), false, QUIET).run(4);
        Path model = Checkpoint.dir(run, 4).resolve(Checkpoint.MODEL);
        byte[] b = Files.readAllBytes(model);
        Files.write(model, Arrays.copyOf(b, b.length / 2));            // a power loss before the data reached the disk
        Trainer resumed = new Trainer(MICRO, opts(run, 4, 2), true, QUIET);
        assertThat(resumed.step()).isEqualTo(2);
        resumed.run(4);                                                 // step 4 again, written whole this time
        assertThat(Checkpoint.latest(run)).contains(Checkpoint.dir(run, 4));
        assertThat(Files.size(model)).isEqualTo(b.length);
    }

    @Test void mismatchedCheckpointGivesOneLineErrorNamingTheFile(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("m");
        new Trainer(MICRO, opts(run, 1, 1), false, QUIET).run(1);
        Path ck = Checkpoint.latest(run).orElseThrow();
        String cfg = Files.readString(ck.resolve("config.json")).replace("\"dFF\" : 64", "\"dFF\" : 96");
        Files.writeString(ck.resolve("config.json"), cfg);
        assertThatThrownBy(() -> Checkpoint.load(ck)).isInstanceOf(IOException.class)
                .hasMessageContaining(ck.resolve("model.safetensors").toString()).hasMessageNotContaining("\n");
        assertThatThrownBy(() -> Checkpoint.load(dir.resolve("nothing"))).isInstanceOf(IOException.class)
                .hasMessageContaining(dir.resolve("nothing").toString());
    }
}
