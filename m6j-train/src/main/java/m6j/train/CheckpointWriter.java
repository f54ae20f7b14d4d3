package m6j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.checkpoint.Checkpoint;
import m6j.data.Tokenizer;
import m6j.offload.TrainState;
import m6j.runtime.FileTrees;
import m6j.runtime.Safetensors;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes a checkpoint (Checkpoint holds the format) with every rank of the cluster. The leader
 * writes the replicated tensors (all of them on one process); under expert parallelism one rank per expert shard
 * writes experts-II-of-NN.safetensors (and the optimizer's), each expert's weights as tensors of their own
 * ("blocks.1.moe.experts.3.w1"), listed with the leader's in model.safetensors.index.json. The directory is renamed into place only after every
 * shard is written, and only after all of them are on disk (Checkpoint.commit fsyncs, then renames). The state gives
 * the tensors, wherever they live.
 */
public final class CheckpointWriter {
    private CheckpointWriter() {}

    /** A one-process checkpoint. */
    public static Path save(Path runDir, int step, TrainState state, Tokenizer tok, ObjectNode trainer, int keep) throws IOException {
        return save(runDir, step, state, tok, trainer, keep, Cluster.LOCAL);
    }

    public static Path save(Path runDir, int step, TrainState state, Tokenizer tok, ObjectNode trainer, int keep, Cluster cluster)
            throws IOException {
        Path dir = Checkpoint.dir(runDir, step), tmp = Checkpoint.staging(dir);
        if (cluster.leader()) {
            FileTrees.delete(tmp);
            FileTrees.createDirectories(tmp);
        }
        cluster.barrier();
        int n = state.model().shard.count();
        Map<String, String> meta = Checkpoint.metadata(step);
        if (cluster.leader()) {
            state.writeWeights(tmp, meta);
            Safetensors.write(tmp.resolve(Checkpoint.OPTIMIZER), state.moments(false), Checkpoint.optimizerMetadata(state.optimizerStep()));
            Checkpoint.writeDescription(tmp, state.model().config, tok, trainer);
        }
        boolean model = state.adapter() == null;                          // an adapter keeps PEFT's names
        if (n > 1 && model && cluster.leader())
            Checkpoint.writeIndex(tmp, state.weights(false), state.weights(true), n);
        if (n > 1 && cluster.writesShard()) {
            String shard = Checkpoint.shardSuffix(state.model().shard.index(), n);
            var experts = state.weights(true);
            if (model) experts = Checkpoint.perExpert(experts, state.model().shard.first(state.model().config.moe().experts()));
            Safetensors.write(tmp.resolve("experts" + shard), experts, meta);
            Safetensors.write(tmp.resolve("optimizer-experts" + shard), state.moments(true), Map.of());
        }
        cluster.barrier();
        if (cluster.leader()) Checkpoint.commit(dir, keep);
        cluster.barrier();
        return dir;
    }
}
