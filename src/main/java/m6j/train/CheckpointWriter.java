package m6j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.checkpoint.Checkpoint;
import m6j.data.Tokenizer;
import m6j.model.M6Model;
import m6j.offload.Offloader;
import m6j.optim.AdamW;
import m6j.runtime.FileTrees;
import m6j.runtime.Safetensors;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a checkpoint (Checkpoint holds the format) with every rank of the cluster. The leader
 * writes the replicated tensors (all of them on one process); under expert parallelism one rank per expert shard
 * writes experts-II-of-NN.safetensors (and the optimizer's). The directory is renamed into place only after every
 * shard is written.
 */
public final class CheckpointWriter {
    private CheckpointWriter() {}

    /** A one-process checkpoint of a model whose state is all in memory (opt may be null). */
    public static Path save(Path runDir, int step, M6Model model, AdamW opt, Tokenizer tok, ObjectNode trainer, int keep)
            throws IOException {
        return save(runDir, step, model, opt, tok, trainer, keep, Cluster.LOCAL, null);
    }

    /** off: the offloader holding part of the state (gathered from its tiers tensor by tensor), or null. */
    public static Path save(Path runDir, int step, M6Model model, AdamW opt, Tokenizer tok, ObjectNode trainer, int keep,
                            Cluster cluster, Offloader off) throws IOException {
        Path dir = Checkpoint.dir(runDir, step), tmp = Checkpoint.staging(dir);
        if (cluster.leader()) {
            FileTrees.delete(tmp);
            Files.createDirectories(tmp);
        }
        cluster.barrier();
        int n = model.shard.count();
        Map<String, String> meta = Checkpoint.metadata(step);
        if (cluster.leader()) {
            Map<String, String> optMeta = Checkpoint.optimizerMetadata(opt == null ? 0 : opt.step());
            if (off == null) {
                Safetensors.write(tmp.resolve(Checkpoint.MODEL), Checkpoint.replicated(model, model.params.named(), ""), meta);
                if (opt != null) Safetensors.write(tmp.resolve(Checkpoint.OPTIMIZER), Checkpoint.replicated(model, opt.state(), "."), optMeta);
            } else {
                Safetensors.write(tmp.resolve(Checkpoint.MODEL), off.entries(model.params.named(), ""), meta);
                List<Safetensors.Entry> state = new ArrayList<>(off.entries(prefixed(opt.state(), "m."), "m."));
                state.addAll(off.entries(prefixed(opt.state(), "v."), "v."));
                Safetensors.write(tmp.resolve(Checkpoint.OPTIMIZER), state, optMeta);
            }
            Checkpoint.writeDescription(tmp, model.config, tok, trainer);
        }
        if (n > 1 && cluster.writesShard()) {
            String shard = Checkpoint.shardSuffix(model.shard.index(), n);
            Safetensors.write(tmp.resolve("experts" + shard), Checkpoint.sharded(model, model.params.named(), ""), meta);
            if (opt != null) Safetensors.write(tmp.resolve("optimizer-experts" + shard), Checkpoint.sharded(model, opt.state(), "."), Map.of());
        }
        cluster.barrier();
        if (cluster.leader()) Checkpoint.commit(dir, keep);
        cluster.barrier();
        return dir;
    }

    private static Map<String, Tensor> prefixed(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((k, t) -> { if (k.startsWith(prefix)) out.put(k, t); });
        return out;
    }
}
