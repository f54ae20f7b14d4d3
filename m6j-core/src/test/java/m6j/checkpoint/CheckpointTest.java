package m6j.checkpoint;

import m6j.runtime.Safetensors;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which checkpoint a resume takes, on hand-made checkpoint directories (small real safetensors files, the JSON
 * files a resume reads): the newest complete one, by step number, skipping damaged ones with a line saying why.
 */
class CheckpointTest {
    @TempDir Path run;

    @BeforeAll static void init() { Torch.init(); }

    /** A complete checkpoint at step, written the way the writer does: into staging, then committed. */
    private Path save(int step, int keep) throws IOException {
        Path dir = Checkpoint.dir(run, step), tmp = Checkpoint.staging(dir);
        Files.createDirectories(tmp);
        Safetensors.write(tmp.resolve(Checkpoint.MODEL), Map.of("w", Tensors.floats(new float[64], 8, 8)), Checkpoint.metadata(step));
        Safetensors.write(tmp.resolve(Checkpoint.OPTIMIZER), Map.of("m.w", Tensors.floats(new float[64], 8, 8),
                "v.w", Tensors.floats(new float[64], 8, 8)), Checkpoint.optimizerMetadata(step));
        Files.writeString(tmp.resolve(Checkpoint.CONFIG), "{\"name\": \"hand-made\"}");
        Files.writeString(tmp.resolve(Checkpoint.TOKENIZER), "{\"model\": {\"type\": \"BPE\"}}");
        Files.writeString(tmp.resolve(Checkpoint.TRAINER), "{\"step\": " + step + ", \"optimizerStep\": " + step + "}");
        Checkpoint.commit(dir, keep);
        return dir;
    }

    private Path save(int step) throws IOException { return save(step, 10); }

    private static String name(Optional<Path> p) { return p.map(x -> x.getFileName().toString()).orElse("none"); }

    /** What f prints to stderr while it runs, and its result. */
    private record Run<T>(T result, String err) {}

    private static <T> Run<T> capturingStderr(Callable<T> f) throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        System.setErr(new PrintStream(b, true));
        try {
            return new Run<>(f.call(), b.toString());
        } finally {
            System.setErr(err);
        }
    }

    @Test void aTruncatedModelIsSkippedForThePreviousCheckpointWithALineSayingWhy() throws Exception {
        save(20);
        Path newest = save(40);
        Path model = newest.resolve(Checkpoint.MODEL);
        byte[] b = Files.readAllBytes(model);
        Files.write(model, Arrays.copyOf(b, b.length - 100));           // what a power loss mid-write can leave

        Run<Optional<Path>> r = capturingStderr(() -> Checkpoint.latest(run));
        assertThat(name(r.result())).isEqualTo("step-000020");
        assertThat(r.err().lines().toList()).singleElement().asString()
                .startsWith("m6j: skipping incomplete checkpoint " + newest + ": model.safetensors is " + (b.length - 100) + " bytes")
                .contains("header says " + b.length);
        assertThat(Checkpoint.resolve(run)).as("a run directory resolves to the same one").isEqualTo(Checkpoint.dir(run, 20));
    }

    @ParameterizedTest
    @ValueSource(strings = {Checkpoint.MODEL, Checkpoint.OPTIMIZER, Checkpoint.CONFIG, Checkpoint.TOKENIZER, Checkpoint.TRAINER})
    void aZeroLengthFileIsSkipped(String file) throws Exception {
        save(20);
        Path newest = save(40);
        Files.write(newest.resolve(file), new byte[0]);                 // a renamed directory of unsynced files

        Run<Optional<Path>> r = capturingStderr(() -> Checkpoint.latest(run));
        assertThat(name(r.result())).isEqualTo("step-000020");
        assertThat(r.err()).contains("step-000040: " + file + " is 0 bytes");
    }

    @Test void aCorruptTrainerJsonIsSkipped() throws Exception {
        save(20);
        Path newest = save(40);
        Files.writeString(newest.resolve(Checkpoint.TRAINER), "{\"step\": 40, \"optimizerSt");

        Run<Optional<Path>> r = capturingStderr(() -> Checkpoint.latest(run));
        assertThat(name(r.result())).isEqualTo("step-000020");
        assertThat(r.err()).contains("step-000040: trainer.json does not parse");
    }

    @Test void aMissingFileOrExpertShardIsSkipped() throws Exception {
        save(10);
        Files.delete(save(20).resolve(Checkpoint.OPTIMIZER));
        Path ep = save(30);                                             // one of two expert shards reached the disk
        Safetensors.write(ep.resolve("experts" + Checkpoint.shardSuffix(0, 2)), Map.of("w", Tensors.floats(new float[4], 4)), Map.of());

        Run<Optional<Path>> r = capturingStderr(() -> Checkpoint.latest(run));
        assertThat(name(r.result())).isEqualTo("step-000010");
        assertThat(r.err()).contains("step-000030: has 1 of 2 experts shards").contains("step-000020: optimizer.safetensors is missing");
    }

    @Test void noCompleteCheckpointMeansNone() throws Exception {
        Files.write(save(20).resolve(Checkpoint.MODEL), new byte[0]);
        assertThat(capturingStderr(() -> Checkpoint.latest(run)).result()).isEmpty();
    }

    @Test void stepOneMillionIsNewerThan999999() throws Exception {
        save(999_999);
        Path million = save(1_000_000);
        assertThat(million.getFileName().toString()).isEqualTo("step-1000000");
        assertThat(Checkpoint.step(million)).isEqualTo(1_000_000);
        assertThat(Checkpoint.step(Checkpoint.staging(million))).as("staging is no checkpoint").isEqualTo(-1);
        assertThat(name(Checkpoint.latest(run))).isEqualTo("step-1000000");
    }

    @Test void pruningGoesByStepNumberPastOneMillion() throws IOException {
        save(999_998, 2);
        save(999_999, 2);
        save(1_000_000, 2);
        save(1_000_001, 2);
        assertThat(names()).containsExactlyInAnyOrder("step-1000000", "step-1000001");
    }

    /** After a resume fell back past a damaged step-50, the step-45 it writes next must survive pruning. */
    @Test void aCheckpointWrittenAfterAFallbackIsNotPrunedForTheDamagedOneAfterIt() throws Exception {
        save(40);
        Files.write(save(50).resolve(Checkpoint.MODEL), new byte[0]);
        assertThat(name(capturingStderr(() -> Checkpoint.latest(run)).result())).isEqualTo("step-000040");
        save(45, 1);
        assertThat(names()).containsExactlyInAnyOrder("step-000045", "step-000050");
        assertThat(name(capturingStderr(() -> Checkpoint.latest(run)).result())).isEqualTo("step-000045");
        save(50, 1);                                                   // reaching step 50 again replaces the damaged one
        assertThat(names()).containsExactly("step-000050");
        assertThat(capturingStderr(() -> Checkpoint.latest(run)).err()).isEmpty();
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
