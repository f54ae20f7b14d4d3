package m6j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.runtime.Devices;
import m6j.runtime.Json;
import m6j.runtime.Safetensors;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Low-rank adapters (LoRA) on the model's matrices. For a target W a trainable pair A (r, in), B (out, r) adds
 * s * B A to W, s = alpha / r, with dropout on the adapter's input while training; B starts at zero, so a new
 * adapter changes nothing until trained. Targets by module kind: attention "qkv" and "proj", FFN "fc1" and "fc2",
 * experts "w1" and "w2" (batched (E, in, out) weights: A (E, r, in), B (E, out, r), one pair per expert), and the
 * patch embedding "patch" (the vision part), and the token embedding "tok" (tied to the output layer: what a new
 * vocabulary of answers needs most; folded into the weight as it is used). The model applies it where it multiplies by a target
 * ({@link ForwardContext#adapter}); {@link #mergeInto} folds it into the weights. Saved in the PEFT layout:
 * adapter_model.safetensors with "base_model.model.MODULE.lora_A.weight" / "lora_B.weight", and adapter_config.json.
 */
public final class Lora {
    public static final String WEIGHTS = "adapter_model.safetensors", CONFIG = "adapter_config.json";
    private static final String PEFT_PREFIX = "base_model.model.";

    public record Config(int rank, double alpha, double dropout, List<String> targets) {
        public static final List<String> KINDS = List.of("qkv", "proj", "fc1", "fc2", "w1", "w2", "patch", "tok");

        public Config {
            if (rank < 1 || rank > 1024) throw new IllegalArgumentException("--lora rank must be in 1..1024");
            if (!(alpha > 0)) throw new IllegalArgumentException("--lora-alpha must be > 0");
            if (dropout < 0 || dropout >= 1) throw new IllegalArgumentException("--lora-dropout must be in [0, 1)");
            if (targets == null || targets.isEmpty()) throw new IllegalArgumentException("--lora-targets must name at least one of " + KINDS);
            for (String t : targets)
                if (!KINDS.contains(t)) throw new IllegalArgumentException("unknown --lora-targets kind '" + t + "' (one of " + KINDS + ")");
            targets = List.copyOf(targets);
        }

        /** Rank r on every kind of matrix, alpha 2r, dropout 0.05. */
        public static Config of(int rank) { return new Config(rank, 2.0 * rank, 0.05, KINDS); }

        public double scale() { return alpha / rank; }
    }

    public final Config config;
    /** Which experts' adapters this one holds (those of its model's expert shard). */
    public final ExpertShard shard;
    /** The adapter's own tensors (A and B per target, named MODULE.lora_A.weight / MODULE.lora_B.weight). */
    public final Params params;
    private final Map<String, Tensor[]> pairs = new LinkedHashMap<>();

    /** A new adapter for model's matrices of the configured kinds: A ~ N(0, 1/in), B = 0 (seeded). */
    public Lora(M6Model model, Config c, long seed) {
        this.config = c;
        this.shard = model.shard;
        torch.manual_seed(seed);
        params = new Params(model.params.dtype(), seed, model.params.device());
        int r = c.rank();
        for (var e : model.params.named().entrySet()) {
            String module = module(e.getKey());
            if (module == null || !c.targets().contains(kind(module))) continue;
            long[] s = Tensors.shape(e.getValue());
            Tensor a, b;
            if (s.length == 2) {                                        // (out, in), used as x W^T
                a = params.normal(module + ".lora_A.weight", 1 / Math.sqrt(s[1]), r, s[1]);
                b = params.zeros(module + ".lora_B.weight", s[0], r);
            } else {                                                    // (E, in, out), used as x W
                // A is drawn for all experts and this shard's sliced out: every expert-parallel degree starts alike.
                boolean split = model.params.isSharded(e.getKey());
                long local = s[0], all = split ? local * shard.count() : local, first = split ? local * shard.index() : 0;
                double std = 1 / Math.sqrt(s[1]);
                a = params.getOrCreate(module + ".lora_A.weight", new long[]{local, r, s[1]},
                        () -> Tensors.normal(std, params.dtype(), all, r, s[1]).narrow(0, first, local).clone());
                b = params.zeros(module + ".lora_B.weight", local, s[2], r);
                if (split) {
                    params.markSharded(module + ".lora_A.weight");
                    params.markSharded(module + ".lora_B.weight");
                }
            }
            pairs.put(module, new Tensor[]{a, b});
        }
        if (pairs.isEmpty()) throw new IllegalArgumentException("the model has no matrices of the kinds " + c.targets());
    }

    /** "blocks.0.attn.qkv.weight" -> "blocks.0.attn.qkv"; "blocks.1.moe.w1" -> itself; other tensors -> null. */
    static String module(String param) {
        if (param.endsWith(".weight")) {
            String m = param.substring(0, param.length() - 7);
            return Config.KINDS.contains(kind(m)) && !m.endsWith(".w1") && !m.endsWith(".w2") ? m : null;
        }
        return param.endsWith(".w1") || param.endsWith(".w2") ? param : null;
    }

    private static String kind(String module) { return module.substring(module.lastIndexOf('.') + 1); }

    /** Whether this adapter changes module's matrix. */
    public boolean adapts(String module) { return pairs.containsKey(module); }

    /** Trainable numbers of the adapter. */
    public long count() { return params.count(); }

    /**
     * W + s B A for module (the token embedding: a lookup and, tied, the output layer, so the update is folded into
     * the weight instead of added to an output; no dropout on it).
     */
    Tensor weight(String module, Tensor w) {
        Tensor[] p = pairs.get(module);
        return p == null ? w : w.add(torch.matmul(p[1], p[0]).mul(Tensors.scalar(config.scale())));
    }

    /** y = x W^T + b of module, plus s * drop(x) A^T B^T. x (..., in), y (..., out). */
    Tensor linear(String module, Tensor x, Tensor y, boolean training) {
        Tensor[] p = pairs.get(module);
        if (p == null) return y;
        Tensor in = training && config.dropout() > 0 ? torch.dropout(x, config.dropout(), true) : x;
        Tensor down = torch.linear(in, p[0]), up = torch.linear(down, p[1]), scaled = up.mul(Tensors.scalar(config.scale()));
        return sum(y, scaled, in != x ? in : null, down, up);
    }

    /**
     * y + delta, closing the handles of the adapter's intermediates (and of y) at once: autograd keeps what backward
     * needs, and a handle left to the step's PointerScope would hold its memory until the step ends.
     */
    private static Tensor sum(Tensor y, Tensor delta, Tensor... temporaries) {
        Tensor out = y.add(delta);
        for (Tensor t : temporaries) if (t != null) t.close();
        delta.close();
        y.close();
        return out;
    }

    /** y (E', C, out) = x (E', C, in) W (E', in, out) + b of the experts ids (null: all), plus s * drop(x) A^T B^T. */
    Tensor experts(String module, Tensor x, Tensor y, long[] ids, boolean training) {
        Tensor[] p = pairs.get(module);
        if (p == null) return y;
        Tensor a = p[0], b = p[1];
        if (ids != null && ids.length != a.size(0)) {
            Tensor sel = Devices.like(a, Tensors.longs(ids, ids.length));
            a = a.index_select(0, sel);
            b = b.index_select(0, sel);
        }
        Tensor in = training && config.dropout() > 0 ? torch.dropout(x, config.dropout(), true) : x;
        Tensor at = a.transpose(1, 2), bt = b.transpose(1, 2);
        Tensor down = torch.bmm(in, at), up = torch.bmm(down, bt), scaled = up.mul(Tensors.scalar(config.scale()));
        return sum(y, scaled, in != x ? in : null, down, up, at, bt, a != p[0] ? a : null, b != p[1] ? b : null);
    }

    /** Folds the adapter into model's weights (W += s B A): the model then computes what model + adapter did. */
    public void mergeInto(M6Model model) {
        try (NoGradGuard ng = new NoGradGuard()) {
            for (var e : model.params.named().entrySet()) {
                Tensor[] p = pairs.get(module(e.getKey()));
                if (p == null) continue;
                Tensor w = e.getValue();
                Tensor delta = w.dim() == 2 ? torch.matmul(p[1], p[0])                         // (out, in)
                        : torch.bmm(p[0].transpose(1, 2), p[1].transpose(1, 2));                // (E, in, out)
                w.add_(delta.mul(Tensors.scalar(config.scale())).to(w.scalar_type()));
            }
        }
    }

    /**
     * The tensors under their PEFT names: this shard's expert adapters (expertShard; the checkpoint's
     * experts-II-of-NN.safetensors), else the rest (all of them on one process).
     */
    public Map<String, Tensor> tensors(boolean expertShard) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : params.named().entrySet()) {
            boolean split = shard.count() > 1 && params.isSharded(e.getKey());
            if (split == expertShard) out.put(PEFT_PREFIX + e.getKey(), e.getValue());
        }
        return out;
    }

    /**
     * adapter_model.safetensors + adapter_config.json in dir (the replicated part under expert parallelism: each
     * shard's experts are written beside it by the checkpoint writer) (PEFT's names; base is recorded as the base model). */
    public void save(Path dir, Path base, Map<String, String> metadata) throws IOException {
        Safetensors.write(dir.resolve(WEIGHTS), tensors(false), metadata);
        ObjectNode c = Json.MAPPER.createObjectNode().put("peft_type", "LORA").put("task_type", "CAUSAL_LM")
                .put("r", config.rank()).put("lora_alpha", config.alpha()).put("lora_dropout", config.dropout())
                .put("bias", "none").put("fan_in_fan_out", false).put("inference_mode", false)
                .put("base_model_name_or_path", base == null ? null : base.toAbsolutePath().normalize().toString());
        var modules = c.putArray("target_modules");
        for (String t : config.targets()) modules.add(t);
        Files.writeString(dir.resolve(CONFIG), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(c));
    }

    /** Whether dir holds an adapter. */
    public static boolean in(Path dir) { return Files.isRegularFile(dir.resolve(CONFIG)); }

    /** The adapter's settings and its base model path, from adapter_config.json. */
    public record Saved(Config config, Path base) {}

    public static Saved describe(Path dir) throws IOException {
        JsonNode c = Json.MAPPER.readTree(dir.resolve(CONFIG).toFile());
        List<String> targets = new ArrayList<>();
        c.path("target_modules").forEach(t -> targets.add(t.asText()));
        Config cfg = new Config(c.path("r").asInt(), c.path("lora_alpha").asDouble(), c.path("lora_dropout").asDouble(), targets);
        String base = c.path("base_model_name_or_path").asText(null);
        return new Saved(cfg, base == null ? null : Path.of(base));
    }

    /** An adapter for model read from dir (its tensors must match the model's shapes; any expert-parallel degree). */
    public static Lora load(Path dir, M6Model model) throws IOException {
        Lora l = new Lora(model, describe(dir).config(), 0);
        Set<String> seen = new HashSet<>();
        try (NoGradGuard ng = new NoGradGuard()) {
            for (var e : Safetensors.readFull(dir, WEIGHTS, "experts").entrySet()) {
                String name = e.getKey().startsWith(PEFT_PREFIX) ? e.getKey().substring(PEFT_PREFIX.length()) : e.getKey();
                Tensor t = l.params.named().get(name);
                if (t == null) throw new IOException(dir + ": adapter tensor " + name + " matches no matrix of the model");
                try {
                    t.copy_(l.params.shardOf(name, e.getValue(), t, l.shard, dir.resolve(WEIGHTS).toString()));
                } catch (IllegalArgumentException bad) {
                    throw new IOException(bad.getMessage(), bad);
                }
                seen.add(name);
            }
        }
        if (!seen.equals(l.params.named().keySet())) throw new IOException(dir + ": adapter misses tensors its config implies");
        return l;
    }
}
