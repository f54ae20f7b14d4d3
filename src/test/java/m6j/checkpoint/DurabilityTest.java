package m6j.checkpoint;

import m6j.runtime.Safetensors;
import m6j.runtime.Torch;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which checkpoint a resume takes: the newest complete one. Hand-made checkpoint directories with real safetensors
 * files, one damaged in each way a crash or power loss leaves them (a truncated tensor file, a zero-length file, a
 * half-written trainer.json); and step numbers past 999,999, which have seven digits.
 */
class DurabilityTest {
    @BeforeAll static void init() { Torch.init(); }

    private static Path checkpoint(Path run, int step) throws IOException {
        Path tmp = Checkpoint.staging(Checkpoint.dir(run, step));
        Files.createDirectories(tmp);
        Safetensors.write(tmp.resolve(Checkpoint.MODEL), Map.of("w", torch.ones(64, 64)), Map.of());
        Safetensors.write(tmp.resolve(Checkpoint.OPTIMIZER), Map.of("m.w", torch.zeros(64, 64)), Map.of());
        Files.writeString(tmp.resolve(Checkpoint.CONFIG), "{\"name\":\"x\"}");
        Files.writeString(tmp.resolve(Checkpoint.TRAINER), "{\"step\":" + step + "}");
        Checkpoint.commit(Checkpoint.dir(run, step), 100);
        return Checkpoint.dir(run, step);
    }

    /** latest(run) with what it printed to stderr. */
    private static String[] latest(Path run) throws IOException {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try {
            return new String[]{Checkpoint.latest(run).map(p -> p.getFileName().toString()).orElse(null), buf.toString()};
        } finally {
            System.setErr(err);
        }
    }

    @Test void resumeFallsBackPastDamagedCheckpoints(@TempDir Path run) throws Exception {
        checkpoint(run, 10);
        Path truncated = checkpoint(run, 20), empty = checkpoint(run, 30), halfJson = checkpoint(run, 40);
        assertThat(latest(run)[0]).isEqualTo("step-000040");
        try (FileChannel ch = FileChannel.open(truncated.resolve(Checkpoint.MODEL), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 100);                               // the tail of the last tensor lost
        }
        Files.write(empty.resolve(Checkpoint.CONFIG), new byte[0]);
        Files.writeString(halfJson.resolve(Checkpoint.TRAINER), "{\"step\":4");
        String[] l = latest(run);
        assertThat(l[0]).as("the newest complete checkpoint").isEqualTo("step-000010");
        assertThat(l[1]).contains("skipping incomplete checkpoint").contains("step-000040").contains(Checkpoint.TRAINER)
                .contains("step-000030: config.json is 0 bytes").contains("step-000020: " + Checkpoint.MODEL);
        assertThat(Checkpoint.validate(truncated)).isPresent();
        assertThat(Checkpoint.validate(run.resolve("checkpoints/step-000010"))).isEmpty();
        assertThat(Checkpoint.resolve(run).getFileName().toString()).isEqualTo("step-000010");
    }

    @Test void stepsPastAMillionAreOrderedByValueAndPruned(@TempDir Path run) throws Exception {
        checkpoint(run, 999_998);
        checkpoint(run, 999_999);
        checkpoint(run, 1_000_000);
        assertThat(Checkpoint.dir(run, 1_000_000).getFileName().toString()).isEqualTo("step-1000000");
        assertThat(latest(run)[0]).isEqualTo("step-1000000");
        Path next = Checkpoint.dir(run, 1_000_001);
        Files.createDirectories(Checkpoint.staging(next));
        Files.writeString(Checkpoint.staging(next).resolve(Checkpoint.TRAINER), "{}");
        Checkpoint.commit(next, 2);                                      // keep the newest two by value
        try (var s = Files.list(run.resolve("checkpoints"))) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("step-1000000", "step-1000001");
        }
    }
}
