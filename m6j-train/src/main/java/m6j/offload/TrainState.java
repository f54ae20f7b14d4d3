package m6j.offload;

import m6j.checkpoint.Checkpoint;
import m6j.model.Lora;

import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.model.LayerStore;
import m6j.model.M6Model;
import m6j.runtime.Safetensors;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The trainable state of a run, wherever it lives: the model's weights, their gradients and the optimizer's
 * moments, all in memory (m6j.train.ResidentState) or partly in offload tiers ({@link OffloadedState}). It owns
 * the update (global gradient norm, clipping, AdamW), gives checkpoints their tensors and takes a resume, so the
 * trainer and the checkpoint writer need not know where it lives.
 */
public interface TrainState {
    M6Model model();

    /** Where the model's blocks get their weights (for the forward context). */
    LayerStore store();

    /**
     * After a step's backward passes: clips all gradients to a global norm of at most clip (0: no clipping), applies
     * AdamW at lr and drops the gradients; returns the norm before clipping. Runs outside any PointerScope.
     */
    double update(double lr, double clip);

    /** Updates applied so far (AdamW's bias correction), as checkpoints record it. */
    long optimizerStep();

    /** The low-rank adapter this state trains (the base model frozen), or null when it trains the model itself. */
    default Lora adapter() { return null; }

    /** Writes the replicated weights of a checkpoint into dir (the leader's part): model.safetensors by default. */
    default void writeWeights(Path dir, Map<String, String> metadata) throws IOException {
        Safetensors.write(dir.resolve(Checkpoint.MODEL), weights(false), metadata);
    }

    /** Checkpoint entries of the weights: this rank's expert shard's (expertShard), else the replicated ones. */
    List<Safetensors.Entry> weights(boolean expertShard);

    /** The same for the optimizer's moments ("m.NAME", "v.NAME"). */
    List<Safetensors.Entry> moments(boolean expertShard);

    /** Weights and moments from checkpoint dir; optimizerStep as its trainer.json says. */
    void resume(Path dir, long optimizerStep) throws IOException;

    /** What the run's summary says of this state: printed to out and added to summary (nothing when all in memory). */
    default void report(PrintStream out, ObjectNode summary) {}
}
