package m6j.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.data.ChatTemplate;
import m6j.data.Tokenizer;
import m6j.model.ExpertShard;
import m6j.model.M6Config;
import m6j.model.Lora;
import m6j.model.M6Model;
import m6j.model.Params;
import m6j.model.Presets;
import m6j.optim.AdamW;
import m6j.runtime.FileTrees;
import m6j.runtime.Json;
import m6j.runtime.Safetensors;
import m6j.vq.ImageVocab;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A checkpoint is a directory RUN/checkpoints/step-NNNNNN (six digits or more) holding model.safetensors,
 * optimizer.safetensors, config.json, tokenizer.json and trainer.json (step, seed, data position). It is written
 * under a .tmp name, fsynced and renamed when complete (FileTrees.commit), so an interrupted save never looks like a
 * checkpoint; a damaged one (a power loss before these fsyncs existed, a full disk, a copy cut short) fails
 * {@link #validate} and resume takes the one before it.
 */
public final class Checkpoint {
    /** Hugging Face's tokenizer_config.json: special tokens and the chat template (data.ChatTemplate). */
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    public static final String MODEL = "model.safetensors", OPTIMIZER = "optimizer.safetensors",
            CONFIG = "config.json", TOKENIZER = "tokenizer.json", TRAINER = "trainer.json";
    /**
     * Hugging Face's index of a model whose weights are in several files, {"metadata": {"total_size": bytes},
     * "weight_map": {tensor: file}}: written beside the expert shards of an expert-parallel checkpoint.
     */
    public static final String INDEX = "model.safetensors.index.json";
    /** An expert's own tensor in an expert shard file: "blocks.1.moe.experts.3.w1" is expert 3 of "blocks.1.moe.w1". */
    private static final Pattern PER_EXPERT = Pattern.compile("(.+)\\.experts\\.(\\d+)\\.([^.]+)");

    /** step-NNNNNN: %06d gives six digits up to step 999,999 and more after it. */
    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{6,})");
    private static final Pattern EXPERT_SHARD = Pattern.compile("(.+)-\\d{2}-of-(\\d{2})\\.safetensors");
    /** The JSON files a checkpoint may hold that are read on load; each must parse. */
    private static final Set<String> JSON_FILES = Set.of(CONFIG, TOKENIZER, TOKENIZER_CONFIG, TRAINER, Lora.CONFIG, INDEX);

    private Checkpoint() {}

    public record Loaded(M6Model model, Tokenizer tokenizer, JsonNode trainer, Path dir) {}

    /** What a checkpoint says besides its tensors: the model's config, the tokenizer and trainer.json (null if absent). */
    public record Description(M6Config config, Tokenizer tokenizer, JsonNode trainer) {}

    /** RUN/checkpoints/step-NNNNNN (seven digits from step 1,000,000 on). */
    public static Path dir(Path runDir, int step) { return runDir.resolve("checkpoints").resolve(String.format("step-%06d", step)); }

    /** Where a checkpoint is written before it is complete: its directory with a .tmp suffix. */
    public static Path staging(Path dir) { return dir.resolveSibling(dir.getFileName() + ".tmp"); }

    /** The tensor-file metadata of a checkpoint at step. */
    public static Map<String, String> metadata(int step) { return Map.of("m6j", "model", "step", Integer.toString(step)); }

    public static Map<String, String> optimizerMetadata(long optimizerStep) {
        return Map.of("optimizer", "adamw", "step", Long.toString(optimizerStep));
    }

    /** config.json, tokenizer.json and trainer.json into a staging directory. */
    public static void writeDescription(Path tmp, M6Config config, Tokenizer tok, ObjectNode trainer) throws IOException {
        Presets.write(config, tmp.resolve(CONFIG));
        tok.save(tmp.resolve(TOKENIZER));
        ChatTemplate.writeConfig(tmp.resolve(TOKENIZER_CONFIG), config.maxTextLen());
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(TRAINER).toFile(), trainer);
    }

    /** The step a checkpoint directory's name says, or -1 for any other name (a .tmp staging directory, say). */
    public static long step(Path dir) {
        Matcher m = STEP_DIR.matcher(dir.getFileName().toString());
        if (!m.matches()) return -1;
        try {
            return Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            return -1;                                          // more digits than a long: no step we wrote
        }
    }

    /** Makes a complete staging directory durable, renames it into place and keeps the newest keep checkpoints. */
    public static void commit(Path dir, int keep) throws IOException {
        FileTrees.delete(dir);                                  // this step written before (a resume fell back past it)
        FileTrees.commit(staging(dir), dir);
        prune(dir, keep);
    }

    /** "experts-II-of-NN.safetensors" style suffix of expert shard index of n. */
    public static String shardSuffix(int index, int n) { return String.format("-%02d-of-%02d.safetensors", index, n); }

    /** "blocks.1.moe.w1", expert 3 -> "blocks.1.moe.experts.3.w1": the name of one expert's slice in a shard file. */
    public static String expertName(String name, long expert) {
        int dot = name.lastIndexOf('.');
        return name.substring(0, dot) + ".experts." + expert + name.substring(dot);
    }

    /**
     * An expert shard's weights (each (local experts, ...)) as one tensor per expert under its global index, so every
     * tensor name is in exactly one file (what the index's weight_map can say). first: the shard's first expert.
     */
    public static List<Safetensors.Entry> perExpert(List<Safetensors.Entry> shard, long first) {
        List<Safetensors.Entry> out = new ArrayList<>();
        for (Safetensors.Entry e : shard) {
            long[] rest = Arrays.copyOfRange(e.shape(), 1, e.shape().length);
            for (long j = 0; j < e.shape()[0]; j++) {
                long at = j;
                out.add(new Safetensors.Entry(expertName(e.name(), first + j), e.dtype(), rest, () -> {
                    Tensor t = e.data().get();
                    Tensor one = t.select(0, at).clone();
                    if (e.owned()) t.close();
                    return one;
                }, true));
            }
        }
        return out;
    }

    /**
     * model.safetensors.index.json of an expert-parallel checkpoint: the replicated tensors in model.safetensors, each
     * expert's in its shard's file (n shards, every one holding shard's names and shapes with its own experts).
     */
    public static void writeIndex(Path dir, List<Safetensors.Entry> replicated, List<Safetensors.Entry> shard, int n) throws IOException {
        ObjectNode index = Json.MAPPER.createObjectNode();
        ObjectNode map = Json.MAPPER.createObjectNode();
        long total = 0;
        for (Safetensors.Entry e : replicated) {
            map.put(e.name(), MODEL);
            total += e.bytes();
        }
        for (int s = 0; s < n; s++) {
            for (Safetensors.Entry e : shard) {
                long local = e.shape()[0];
                for (long j = 0; j < local; j++) map.put(expertName(e.name(), s * local + j), "experts" + shardSuffix(s, n));
                total += e.bytes();
            }
        }
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", map);
        Files.writeString(dir.resolve(INDEX), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(index) + "\n");
    }

    /**
     * Per-expert tensors ("blocks.1.moe.experts.3.w1") stacked by expert into the model's batched ones
     * ("blocks.1.moe.w1"); other tensors as they are (older expert-parallel checkpoints hold each shard's slice under
     * the batched name, which Safetensors.readFull concatenates).
     */
    public static Map<String, Tensor> stackExperts(Map<String, Tensor> tensors) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, TreeMap<Integer, Tensor>> experts = new LinkedHashMap<>();
        tensors.forEach((k, t) -> {
            Matcher m = PER_EXPERT.matcher(k);
            if (m.matches()) experts.computeIfAbsent(m.group(1) + "." + m.group(3), x -> new TreeMap<>()).put(Integer.parseInt(m.group(2)), t);
            else out.put(k, t);
        });
        for (var e : experts.entrySet()) {
            TreeMap<Integer, Tensor> by = e.getValue();
            if (by.firstKey() != 0 || by.lastKey() != by.size() - 1)
                throw new IllegalArgumentException("experts of '" + e.getKey() + "' are " + by.keySet() + ", not 0.." + (by.size() - 1));
            out.put(e.getKey(), torch.stack(new TensorVector(by.values().toArray(Tensor[]::new)), 0));
        }
        return out;
    }

    /** Tensors replicated on every rank: all of them on one process, all but expert weights otherwise. */
    public static Map<String, Tensor> replicated(M6Model m, Map<String, Tensor> all, String sep) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((k, t) -> { if (m.shard.count() == 1 || !m.params.isSharded(paramName(k, sep))) out.put(k, t); });
        return out;
    }

    public static Map<String, Tensor> sharded(M6Model m, Map<String, Tensor> all, String sep) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((k, t) -> { if (m.params.isSharded(paramName(k, sep))) out.put(k, t); });
        return out;
    }

    /** "m.blocks.1.moe.w1" -> "blocks.1.moe.w1" for optimizer keys (sep "."), the key itself for weights. */
    private static String paramName(String key, String sep) { return sep.isEmpty() ? key : key.substring(key.indexOf(sep) + 1); }

    /**
     * The newest checkpoint of a run that validates; each newer one is skipped with a line on stderr saying why,
     * so a resume falls back to the last complete checkpoint instead of failing on a damaged one.
     */
    public static Optional<Path> latest(Path runDir) throws IOException {
        List<Path> all = steps(runDir.resolve("checkpoints"));
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                validate(all.get(i));
                return Optional.of(all.get(i));
            } catch (IOException e) {
                System.err.println("m6j: skipping incomplete checkpoint " + all.get(i) + ": " + e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** The checkpoint directories under root (RUN/checkpoints), by step, lowest first. */
    private static List<Path> steps(Path root) throws IOException {
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> step(p) >= 0 && Files.isDirectory(p)).sorted(Comparator.comparingLong(Checkpoint::step)).toList();
        }
    }

    /**
     * Checks that dir is a complete checkpoint without reading any tensor: the files a resume needs are there and
     * not empty, each safetensors file is as long as its header says, every expert shard is there and the JSON
     * files parse. Throws an IOException whose message names the first bad file.
     */
    public static void validate(Path dir) throws IOException {
        List<String> required = Lora.in(dir) ? List.of(Lora.CONFIG, Lora.WEIGHTS, OPTIMIZER, CONFIG, TOKENIZER, TRAINER)
                : List.of(MODEL, OPTIMIZER, CONFIG, TOKENIZER, TRAINER);
        for (String f : required) {
            if (!Files.isRegularFile(dir.resolve(f))) throw new IOException(f + " is missing");
            if (Files.size(dir.resolve(f)) == 0) throw new IOException(f + " is 0 bytes");
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
            String name = f.getFileName().toString();
            if (name.endsWith(".safetensors")) checkLength(f);
            else if (JSON_FILES.contains(name)) checkJson(f);
        }
        checkShards(files);
    }

    /** A safetensors file cut short (or with bytes after its data) is not the file that was written. */
    private static void checkLength(Path f) throws IOException {
        String name = f.getFileName().toString();
        long size = Files.size(f);
        if (size == 0) throw new IOException(name + " is 0 bytes");
        long declared;
        try {
            declared = Safetensors.declaredLength(f);
        } catch (IOException e) {
            throw new IOException(name + ": " + e.getMessage(), e);
        }
        if (declared != size) throw new IOException(name + " is " + size + " bytes, its header says " + declared);
    }

    private static void checkJson(Path f) throws IOException {
        String name = f.getFileName().toString();
        if (Files.size(f) == 0) throw new IOException(name + " is 0 bytes");
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(f.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(name + " does not parse: " + e.getOriginalMessage(), e);
        }
        if (n == null || !n.isObject()) throw new IOException(name + " is not a JSON object");
    }

    /** experts-II-of-NN.safetensors (and optimizer-experts-...): all NN of each, as readFull needs them. */
    private static void checkShards(List<Path> files) throws IOException {
        Map<String, Integer> have = new TreeMap<>(), of = new HashMap<>();
        for (Path f : files) {
            Matcher m = EXPERT_SHARD.matcher(f.getFileName().toString());
            if (!m.matches() || !m.group(1).endsWith("experts")) continue;
            have.merge(m.group(1), 1, Integer::sum);
            of.merge(m.group(1), Integer.parseInt(m.group(2)), Math::max);
        }
        for (var e : have.entrySet())
            if (e.getValue() != of.get(e.getKey()).intValue())
                throw new IOException("has " + e.getValue() + " of " + of.get(e.getKey()) + " " + e.getKey() + " shards");
    }

    /** A checkpoint directory itself, or a run directory (its latest checkpoint). */
    public static Path resolve(Path path) throws IOException {
        if (Files.isRegularFile(path.resolve(MODEL)) || Lora.in(path)) return path;
        if (Files.isDirectory(path)) {
            Optional<Path> l = latest(path);
            if (l.isPresent()) return l.get();
        }
        throw new IOException("no checkpoint at " + path + " (expected " + path.resolve(MODEL) + " or a run directory with checkpoints/)");
    }

    /** Model (float32, CPU, all experts) and tokenizer from a checkpoint, with one-line errors naming the bad file. */
    public static Loaded load(Path path) throws IOException { return load(path, ExpertShard.ALL); }

    /** The same for one expert shard (expert-parallel resume at any degree). */
    public static Loaded load(Path path, ExpertShard shard) throws IOException {
        Path dir = resolve(path);
        Description d = describe(dir);
        if (Lora.in(dir)) {                         // a LoRA checkpoint: its base with the adapter folded in
            Lora.Saved a = Lora.describe(dir);
            if (a.base() == null) throw new IOException(dir.resolve(Lora.CONFIG) + " names no base_model_name_or_path");
            M6Model base = load(a.base(), shard).model();
            Lora.load(dir, base).mergeInto(base);
            return new Loaded(base, d.tokenizer(), d.trainer(), dir);
        }
        M6Model model;
        try {
            model = new M6Model(d.config(), ScalarType.Float, 0, null, shard);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        loadModel(dir, model);
        return new Loaded(model, d.tokenizer(), d.trainer(), dir);
    }

    /** Config, tokenizer and trainer state of checkpoint dir, checking that tokenizer and config agree. */
    public static Description describe(Path dir) throws IOException {
        M6Config cfg = Presets.read(dir.resolve(CONFIG));
        Tokenizer tok = Tokenizer.load(dir.resolve(TOKENIZER));
        int imageCodes = ImageVocab.extraTokens(dir);            // image-code tokens after the text vocabulary
        if (tok.vocabSize() + imageCodes != cfg.vocabSize())
            throw new IOException(dir.resolve(TOKENIZER) + " has " + tok.vocabSize() + " tokens" + (imageCodes > 0 ? " (+" + imageCodes + " image codes)" : "")
                    + " but " + dir.resolve(CONFIG) + " says vocabSize " + cfg.vocabSize());
        JsonNode trainer = Files.isRegularFile(dir.resolve(TRAINER)) ? Json.MAPPER.readTree(dir.resolve(TRAINER).toFile()) : null;
        return new Description(cfg, tok, trainer);
    }

    /** The checkpoint's weights into model (its expert shard of them, whatever degree they were written at). */
    public static void loadModel(Path dir, M6Model model) throws IOException {
        if (Lora.in(dir)) {                          // an adapter checkpoint: its base with the adapter folded in
            try {
                model.load(load(dir).model().params.named(), dir.toString());      // all experts: load slices its shard
            } catch (IllegalArgumentException e) {
                throw new IOException(e.getMessage(), e);
            }
            return;
        }
        try {
            model.load(stackExperts(Safetensors.readFull(dir, MODEL, "experts")), dir.resolve(MODEL).toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Optimizer state over params (shard: which experts they hold), whatever degree it was written at. */
    public static void loadOptimizer(Path dir, Params params, ExpertShard shard, AdamW opt, long step) throws IOException {
        Path f = dir.resolve(OPTIMIZER);
        try {
            Map<String, Tensor> full = Safetensors.readFull(dir, OPTIMIZER, "optimizer-experts"), local = new HashMap<>();
            for (var e : params.named().entrySet()) {
                for (String p : new String[]{"m.", "v."}) {
                    Tensor t = full.get(p + e.getKey());
                    if (t != null) local.put(p + e.getKey(), params.shardOf(e.getKey(), t, e.getValue(), shard, f.toString()));
                }
            }
            opt.load(local, step, f.toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * Keeps the newest keep checkpoints up to the one just committed, by step. Any after it were left behind when a
     * resume fell back past them (damaged, or a lost future): they neither count nor push the new one out, and
     * are replaced when the run reaches their step.
     */
    private static void prune(Path committed, int keep) throws IOException {
        long upTo = step(committed);
        List<Path> all = steps(committed.getParent()).stream().filter(p -> step(p) <= upTo).toList();
        for (int i = 0; i < all.size() - keep; i++) FileTrees.delete(all.get(i));
    }
}
