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
 * writes experts-II-of-NN.safetensors (and the optimizer's). The directory is renamed into place only after every
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
        if (n > 1 && cluster.writesShard()) {
            String shard = Checkpoint.shardSuffix(state.model().shard.index(), n);
            Safetensors.write(tmp.resolve("experts" + shard), state.weights(true), meta);
            Safetensors.write(tmp.resolve("optimizer-experts" + shard), state.moments(true), Map.of());
        }
        cluster.barrier();
        if (cluster.leader()) Checkpoint.commit(dir, keep);
        cluster.barrier();
        return dir;
    }
}
