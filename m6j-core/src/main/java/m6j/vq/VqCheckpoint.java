package m6j.vq;

import m6j.runtime.Safetensors;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A VQGAN checkpoint directory: config.json (the {@link VqConfig}), vqgan.safetensors (encoder, decoder, codebook),
 * disc.safetensors (the discriminator, for further training) and train.json (how it was trained, held-out figures).
 */
public final class VqCheckpoint {
    public static final String CONFIG = "config.json", MODEL = "vqgan.safetensors", DISC = "disc.safetensors";

    private VqCheckpoint() {}

    public static void save(Path dir, VqModel m, Discriminator d) throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> all = new LinkedHashMap<>(m.weights.named());
        all.putAll(m.buffers.named());
        Safetensors.write(dir.resolve(MODEL), all, Map.of("m6j", "vqgan", "preset", m.config.name()));  // durable, atomic
        if (d != null) Safetensors.write(dir.resolve(DISC), d.weights.named(), Map.of("m6j", "vqgan-discriminator"));
        m.config.write(dir.resolve(CONFIG));
    }

    public static boolean isCheckpoint(Path dir) { return Files.isRegularFile(dir.resolve(MODEL)) && Files.isRegularFile(dir.resolve(CONFIG)); }

    /** Loads a VQGAN (float32, CPU) for encoding and decoding; one-line errors naming the bad file. */
    public static VqModel load(Path dir) throws IOException {
        if (!isCheckpoint(dir))
            throw new IOException("no VQGAN checkpoint at " + dir + " (expected " + dir.resolve(CONFIG) + " and " + dir.resolve(MODEL) + ")");
        VqConfig c = VqConfig.read(dir.resolve(CONFIG));
        VqModel m = new VqModel(c, 0);
        try {
            Map<String, Tensor> t = Safetensors.read(dir.resolve(MODEL)).tensors();
            m.weights.load(t, dir.resolve(MODEL).toString());
            m.buffers.load(t, dir.resolve(MODEL).toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        return m;
    }

    /** Copies a VQGAN checkpoint's files (not the discriminator) into dest, so a stage-two run is self-contained. */
    public static void copy(Path from, Path dest) throws IOException {
        if (!isCheckpoint(from)) throw new IOException("no VQGAN checkpoint at " + from);
        Files.createDirectories(dest);
        for (String f : new String[]{CONFIG, MODEL, "train.json"})
            if (Files.isRegularFile(from.resolve(f)))
                Files.copy(from.resolve(f), dest.resolve(f), StandardCopyOption.REPLACE_EXISTING);
    }
}
