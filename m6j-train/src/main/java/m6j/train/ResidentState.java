package m6j.train;

import m6j.checkpoint.Checkpoint;
import m6j.model.LayerStore;
import m6j.model.M6Model;
import m6j.model.Params;
import m6j.offload.TrainState;
import m6j.optim.AdamW;
import m6j.runtime.Safetensors;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Training state all in memory: the model's own tensors and one AdamW over all of them. Gradients are summed
 * over the cluster's replicas and the norm taken over the whole model before the update.
 */
public record ResidentState(M6Model model, AdamW opt, Cluster cluster) implements TrainState {
    /** A new AdamW with options o over all of model's parameters. */
    public static ResidentState of(M6Model model, AdamW.Options o, Cluster cluster) {
        return new ResidentState(model, new AdamW(model.params.named(), o), cluster);
    }

    @Override public LayerStore store() { return LayerStore.RESIDENT; }

    @Override public double update(double lr, double clip) { return update(cluster, model.params, opt, lr, clip); }

    /** The update of parameters p by opt: gradients summed over the cluster, clipped to a global norm, applied, dropped. */
    static double update(Cluster cluster, Params p, AdamW opt, double lr, double clip) {
        cluster.reduceGradients(p);
        double norm = cluster.clipGradNorm(p, clip);
        opt.update(lr);
        AdamW.zeroGrad(p.named());
        return norm;
    }

    @Override public long optimizerStep() { return opt.step(); }

    @Override public List<Safetensors.Entry> weights(boolean expertShard) {
        var all = model.params.named();
        return Safetensors.entries(expertShard ? Checkpoint.sharded(model, all, "") : Checkpoint.replicated(model, all, ""));
    }

    @Override public List<Safetensors.Entry> moments(boolean expertShard) {
        var all = opt.state();
        return Safetensors.entries(expertShard ? Checkpoint.sharded(model, all, ".") : Checkpoint.replicated(model, all, "."));
    }

    /** At any expert-parallel degree: this model's shard is sliced out of the full tensors. */
    @Override public void resume(Path dir, long optimizerStep) throws IOException {
        Checkpoint.loadModel(dir, model);
        Checkpoint.loadOptimizer(dir, model.params, model.shard, opt, optimizerStep);
    }
}
