package m6j.runtime;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Hostile safetensors files (declared header sizes, offsets past the end, wrong dtypes, deep JSON): reading one
 * either works or fails with an IOException naming the file, never another exception or an allocation of what the
 * header claims. In a normal test run the committed seeds (SafetensorsFuzzTestInputs/) and the crashes found so far
 * run as regression tests; JAZZER_FUZZ=1 fuzzes (docs/BENCHMARKS.md, "Fuzzing").
 */
public class SafetensorsFuzzTest {
    @BeforeAll public static void init() { Torch.init(); }

    @FuzzTest(maxDuration = "60s")
    public void readsOrRefuses(byte[] data) throws IOException {
        Path f = Files.createTempFile("fuzz", ".safetensors");
        try {
            Files.write(f, data);
            try {
                Safetensors.read(f).tensors().values().forEach(t -> t.numel());
            } catch (IOException expected) {
                // refused with a message: what a hostile file should get
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
