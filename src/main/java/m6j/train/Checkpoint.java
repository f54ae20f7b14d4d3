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

    /**
     * Writes a checkpoint with every rank of the cluster. The leader writes the replicated tensors (all of them on
     * one process); under expert parallelism one rank per expert shard writes experts-II-of-NN.safetensors (and the
     * optimizer's). The directory is renamed into place only after every shard is written.
     */
    public static Path save(Path runDir, int step, M6Model model, AdamW opt, Tokenizer tok, ObjectNode trainer, int keep,
                            Cluster cluster) throws IOException {
        return save(runDir, step, model, opt, tok, trainer, keep, cluster, null);
    }

    /** off: the offloader holding part of the state (gathered from its tiers tensor by tensor), or null. */
    public static Path save(Path runDir, int step, M6Model model, AdamW opt, Tokenizer tok, ObjectNode trainer, int keep,
                            Cluster cluster, Offloader off) throws IOException {
        Path root = runDir.resolve("checkpoints");
        Path dir = root.resolve(String.format("step-%06d", step));
        Path tmp = root.resolve(dir.getFileName() + ".tmp");
        if (cluster.leader()) {
            deleteTree(tmp);
            Files.createDirectories(tmp);
        }
        cluster.barrier();
        int n = model.shard.count();
        Map<String, String> meta = Map.of("format", "m6j", "step", Integer.toString(step));
        if (cluster.leader()) {
            Map<String, String> optMeta = Map.of("optimizer", "adamw", "step", Long.toString(opt == null ? 0 : opt.step()));
            if (off == null) {
                Safetensors.write(tmp.resolve(MODEL), replicated(model, model.params.named(), ""), meta);
                if (opt != null) Safetensors.write(tmp.resolve(OPTIMIZER), replicated(model, opt.state(), "."), optMeta);
            } else {
                Safetensors.write(tmp.resolve(MODEL), off.entries(model.params.named(), ""), meta);
                List<Safetensors.Entry> state = new java.util.ArrayList<>(off.entries(prefixed(opt.state(), "m."), "m."));
                state.addAll(off.entries(prefixed(opt.state(), "v."), "v."));
                Safetensors.write(tmp.resolve(OPTIMIZER), state, optMeta);
            }
            Presets.write(model.config, tmp.resolve(CONFIG));
            tok.save(tmp.resolve(TOKENIZER));
            Presets.JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(TRAINER).toFile(), trainer);
        }
        if (n > 1 && cluster.writesShard()) {
            String shard = String.format("-%02d-of-%02d.safetensors", model.shard.index(), n);
            Safetensors.write(tmp.resolve("experts" + shard), sharded(model, model.params.named(), ""), meta);
            if (opt != null) Safetensors.write(tmp.resolve("optimizer-experts" + shard), sharded(model, opt.state(), "."), Map.of());
        }
        cluster.barrier();
        if (cluster.leader()) {
            deleteTree(dir);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            prune(root, keep);
        }
        cluster.barrier();
        return dir;
    }

    public static Path save(Path runDir, int step, M6Model model, AdamW opt, Tokenizer tok, ObjectNode trainer, int keep)
            throws IOException {
        return save(runDir, step, model, opt, tok, trainer, keep, Cluster.LOCAL);
    }

    private static Map<String, org.bytedeco.pytorch.Tensor> prefixed(Map<String, org.bytedeco.pytorch.Tensor> all, String prefix) {
        Map<String, org.bytedeco.pytorch.Tensor> out = new java.util.LinkedHashMap<>();
        all.forEach((k, t) -> { if (k.startsWith(prefix)) out.put(k, t); });
        return out;
    }

    /**
     * Resume of an offloaded run: resident weights and Adam moments copied in, offloaded ones streamed into their
     * tiers, one tensor at a time (the whole state need not fit in memory).
     */
    public static void loadInto(Path dir, M6Model model, AdamW opt, Offloader off, long optStep) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            if (s.anyMatch(p -> p.getFileName().toString().startsWith("experts-")))
                throw new IOException(dir + " was written with expert parallelism; resume it without --memory-budget");
        }
        try (Safetensors.Reader mr = new Safetensors.Reader(dir.resolve(MODEL));
             Safetensors.Reader or = new Safetensors.Reader(dir.resolve(OPTIMIZER));
             org.bytedeco.pytorch.NoGradGuard ng = new org.bytedeco.pytorch.NoGradGuard()) {
            Map<String, org.bytedeco.pytorch.Tensor> state = new java.util.HashMap<>();
            for (var e : off.resident(model.params.named()).entrySet()) {
                org.bytedeco.pytorch.Tensor t = mr.read(e.getKey());
                try {
                    e.getValue().copy_(model.shardOf(e.getKey(), t, e.getValue(), dir.resolve(MODEL).toString()));
                } catch (IllegalArgumentException ex) {
                    throw new IOException(ex.getMessage(), ex);
                }
                t.close();
                for (String p : new String[]{"m.", "v."}) state.put(p + e.getKey(), or.read(p + e.getKey()));
            }
            opt.load(state, optStep, dir.resolve(OPTIMIZER).toString());
            state.values().forEach(org.bytedeco.pytorch.Tensor::close);
            off.load(mr, or);
        }
    }

    /** Tensors replicated on every rank: all of them on one process, all but expert weights otherwise. */
    private static Map<String, org.bytedeco.pytorch.Tensor> replicated(M6Model m, Map<String, org.bytedeco.pytorch.Tensor> all, String sep) {
        Map<String, org.bytedeco.pytorch.Tensor> out = new java.util.LinkedHashMap<>();
        all.forEach((k, t) -> { if (m.shard.count() == 1 || !m.params.isSharded(paramName(k, sep))) out.put(k, t); });
        return out;
    }

    private static Map<String, org.bytedeco.pytorch.Tensor> sharded(M6Model m, Map<String, org.bytedeco.pytorch.Tensor> all, String sep) {
        Map<String, org.bytedeco.pytorch.Tensor> out = new java.util.LinkedHashMap<>();
        all.forEach((k, t) -> { if (m.params.isSharded(paramName(k, sep))) out.put(k, t); });
        return out;
    }

    /** "m.blocks.1.moe.w1" -> "blocks.1.moe.w1" for optimizer keys (sep "."), the key itself for weights. */
    private static String paramName(String key, String sep) { return sep.isEmpty() ? key : key.substring(key.indexOf(sep) + 1); }

    /**
     * All tensors of a checkpoint file group as full tensors: base file plus its expert shards (prefix-II-of-NN),
     * concatenated along dim 0 in shard order. Works for any expert-parallel degree the checkpoint was written at.
     */
    public static Map<String, org.bytedeco.pytorch.Tensor> readFull(Path dir, String base, String shardPrefix) throws IOException {
        Map<String, org.bytedeco.pytorch.Tensor> out = new java.util.LinkedHashMap<>(Safetensors.read(dir.resolve(base)).tensors());
        List<Path> shards;
        try (Stream<Path> s = Files.list(dir)) {
            shards = s.filter(p -> p.getFileName().toString().matches(java.util.regex.Pattern.quote(shardPrefix) + "-\\d{2}-of-\\d{2}\\.safetensors"))
                    .sorted().toList();
        }
        if (shards.isEmpty()) return out;
        String name = shards.get(0).getFileName().toString();
        int n = Integer.parseInt(name.substring(name.length() - 14, name.length() - 12));
        if (shards.size() != n) throw new IOException(dir + ": has " + shards.size() + " of " + n + " " + shardPrefix + " shards");
        Map<String, List<org.bytedeco.pytorch.Tensor>> parts = new java.util.LinkedHashMap<>();
        for (Path p : shards)
            Safetensors.read(p).tensors().forEach((k, t) -> parts.computeIfAbsent(k, x -> new java.util.ArrayList<>()).add(t));
        for (var e : parts.entrySet()) {
            org.bytedeco.pytorch.TensorVector v = new org.bytedeco.pytorch.TensorVector();
            for (org.bytedeco.pytorch.Tensor t : e.getValue()) v.push_back(t);
            out.put(e.getKey(), org.bytedeco.pytorch.global.torch.cat(v, 0));
        }
        return out;
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

    /** Model (float32, CPU, all experts) and tokenizer from a checkpoint, with one-line errors naming the bad file. */
    public static Loaded load(Path path) throws IOException { return load(path, m6j.model.ExpertShard.ALL); }

    /** The same for one expert shard (expert-parallel resume at any degree). */
    public static Loaded load(Path path, m6j.model.ExpertShard shard) throws IOException {
        Path dir = resolve(path);
        M6Config cfg = Presets.read(dir.resolve(CONFIG));
        Tokenizer tok = Tokenizer.load(dir.resolve(TOKENIZER));
        int imageCodes = m6j.vq.ImageVocab.extraTokens(dir);            // image-code tokens after the text vocabulary
        if (tok.vocabSize() + imageCodes != cfg.vocabSize())
            throw new IOException(dir.resolve(TOKENIZER) + " has " + tok.vocabSize() + " tokens" + (imageCodes > 0 ? " (+" + imageCodes + " image codes)" : "")
                    + " but " + dir.resolve(CONFIG) + " says vocabSize " + cfg.vocabSize());
        M6Model model;
        try {
            model = new M6Model(cfg, ScalarType.Float, 0, null, shard);
            model.load(readFull(dir, MODEL, "experts"), dir.resolve(MODEL).toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        JsonNode trainer = Files.isRegularFile(dir.resolve(TRAINER)) ? Presets.JSON.readTree(dir.resolve(TRAINER).toFile()) : null;
        return new Loaded(model, tok, trainer, dir);
    }

    /** Optimizer state for this model's shard, whatever degree it was written at. */
    public static void loadOptimizer(Path dir, M6Model model, AdamW opt, long step) throws IOException {
        Path f = dir.resolve(OPTIMIZER);
        try {
            Map<String, org.bytedeco.pytorch.Tensor> full = readFull(dir, OPTIMIZER, "optimizer-experts"), local = new java.util.HashMap<>();
            for (var e : model.params.named().entrySet()) {
                for (String p : new String[]{"m.", "v."}) {
                    org.bytedeco.pytorch.Tensor t = full.get(p + e.getKey());
                    if (t != null) local.put(p + e.getKey(), model.shardOf(e.getKey(), t, e.getValue(), f.toString()));
                }
            }
            opt.load(local, step, f.toString());
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
