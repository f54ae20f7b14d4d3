package m6j.train;

import m6j.checkpoint.Checkpoint;
import m6j.model.LayerStore;
import m6j.model.Lora;
import m6j.model.M6Model;
import m6j.offload.TrainState;
import m6j.optim.AdamW;
import m6j.runtime.Safetensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Training state of a LoRA fine-tune: the base checkpoint's model, frozen, and one AdamW over the adapter's tensors
 * only (under expert parallelism, of this rank's experts). Checkpoints hold the adapter (adapter_model.safetensors + adapter_config.json naming the base) and its
 * moments, not the base weights, which are read again from the base on resume.
 */
public record AdapterState(M6Model model, Lora adapter, AdamW opt, Cluster cluster, Path base) implements TrainState {
    /** A new adapter with config c on the base checkpoint (or run directory) base. */
    public static AdapterState create(Path base, Lora.Config c, long seed, AdamW.Options o, Cluster cluster) throws IOException {
        Path dir = Checkpoint.resolve(base);
        M6Model m = Checkpoint.load(dir, cluster.shard()).model();           // this rank's experts, frozen
        for (Tensor t : m.params.named().values()) t.requires_grad_(false);
        Lora a = new Lora(m, c, seed);
        return new AdapterState(m, a, new AdamW(a.params.named(), o), cluster, dir);
    }

    @Override public LayerStore store() { return LayerStore.RESIDENT; }

    @Override public double update(double lr, double clip) { return ResidentState.update(cluster, adapter.params, opt, lr, clip); }

    @Override public long optimizerStep() { return opt.step(); }

    @Override public void writeWeights(Path dir, Map<String, String> metadata) throws IOException { adapter.save(dir, base, metadata); }

    @Override public List<Safetensors.Entry> weights(boolean expertShard) { return Safetensors.entries(adapter.tensors(expertShard)); }

    /** "m.NAME" / "v.NAME" of this shard's expert adapters (expertShard), else of the rest. */
    @Override public List<Safetensors.Entry> moments(boolean expertShard) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        opt.state().forEach((k, t) -> {
            boolean split = adapter.shard.count() > 1 && adapter.params.isSharded(k.substring(k.indexOf('.') + 1));
            if (split == expertShard) out.put(k, t);
        });
        return Safetensors.entries(out);
    }

    /** The adapter and its moments from checkpoint dir, written at any expert-parallel degree (the base weights are the base's). */
    @Override public void resume(Path dir, long optimizerStep) throws IOException {
        Lora saved = Lora.load(dir, model);
        try (NoGradGuard ng = new NoGradGuard()) {
            for (var e : adapter.params.named().entrySet()) e.getValue().copy_(saved.params.get(e.getKey()));
        }
        Checkpoint.loadOptimizer(dir, adapter.params, adapter.shard, opt, optimizerStep);
    }
}
