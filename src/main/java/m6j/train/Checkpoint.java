package m6j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.data.Tokenizer;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.model.Presets;
import m6j.runtime.Safetensors;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A checkpoint is a directory RUN/checkpoints/step-NNNNNN holding model.safetensors, optimizer.safetensors,
 * config.json, tokenizer.json and trainer.json (step, seed, data position). It is written under a .tmp name
 * and renamed when complete, so an interrupted save never looks like a checkpoint.
 */
public final class Checkpoint {
    public static final String MODEL = "model.safetensors", OPTIMIZER = "optimizer.safetensors",
            CONFIG = "config.json", TOKENIZER = "tokenizer.json", TRAINER = "trainer.json";

    private Checkpoint() {}

    public record Loaded(M6Model model, Tokenizer tokenizer, JsonNode trainer, Path dir) {}

    public static Path save(Path runDir, int step, M6Model model, AdamW opt, Tokenizer tok, ObjectNode trainer, int keep)
            throws IOException {
        Path root = runDir.resolve("checkpoints");
        Path dir = root.resolve(String.format("step-%06d", step));
        Path tmp = root.resolve(dir.getFileName() + ".tmp");
        deleteTree(tmp);
        Files.createDirectories(tmp);
        Safetensors.write(tmp.resolve(MODEL), model.params.named(), Map.of("format", "m6j", "step", Integer.toString(step)));
        if (opt != null)
            Safetensors.write(tmp.resolve(OPTIMIZER), opt.state(), Map.of("optimizer", "adamw", "step", Long.toString(opt.step())));
        Presets.write(model.config, tmp.resolve(CONFIG));
        tok.save(tmp.resolve(TOKENIZER));
        Presets.JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(TRAINER).toFile(), trainer);
        deleteTree(dir);
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        prune(root, keep);
        return dir;
    }

    /** The newest complete checkpoint of a run. */
    public static Optional<Path> latest(Path runDir) throws IOException {
        Path root = runDir.resolve("checkpoints");
        if (!Files.isDirectory(root)) return Optional.empty();
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> p.getFileName().toString().matches("step-\\d{6}") && Files.isRegularFile(p.resolve(TRAINER)))
                    .max(Comparator.comparing(p -> p.getFileName().toString()));
        }
    }

    /** A checkpoint directory itself, or a run directory (its latest checkpoint). */
    public static Path resolve(Path path) throws IOException {
        if (Files.isRegularFile(path.resolve(MODEL))) return path;
        if (Files.isDirectory(path)) {
            Optional<Path> l = latest(path);
            if (l.isPresent()) return l.get();
        }
        throw new IOException("no checkpoint at " + path + " (expected " + path.resolve(MODEL) + " or a run directory with checkpoints/)");
    }

    /** Model (float32, CPU) and tokenizer from a checkpoint, with one-line errors naming the bad file. */
    public static Loaded load(Path path) throws IOException {
        Path dir = resolve(path);
        M6Config cfg = Presets.read(dir.resolve(CONFIG));
        Tokenizer tok = Tokenizer.load(dir.resolve(TOKENIZER));
        if (tok.vocabSize() != cfg.vocabSize())
            throw new IOException(dir.resolve(TOKENIZER) + " has " + tok.vocabSize() + " tokens but " + dir.resolve(CONFIG)
                    + " says vocabSize " + cfg.vocabSize());
        M6Model model = new M6Model(cfg, ScalarType.Float, 0);
        try {
            model.load(Safetensors.read(dir.resolve(MODEL)).tensors(), dir.resolve(MODEL).toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        JsonNode trainer = Files.isRegularFile(dir.resolve(TRAINER)) ? Presets.JSON.readTree(dir.resolve(TRAINER).toFile()) : null;
        return new Loaded(model, tok, trainer, dir);
    }

    public static void loadOptimizer(Path dir, AdamW opt, long step) throws IOException {
        Path f = dir.resolve(OPTIMIZER);
        try {
            opt.load(Safetensors.read(f).tensors(), step, f.toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static void prune(Path root, int keep) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.list(root)) {
            all = s.filter(p -> p.getFileName().toString().matches("step-\\d{6}")).sorted().toList();
        }
        for (int i = 0; i < all.size() - keep; i++) deleteTree(all.get(i));
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
