package m6j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.checkpoint.Checkpoint;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.optim.AdamW;
import m6j.runtime.Json;
import m6j.runtime.Safetensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Pseudo-to-real ("share then delink", M6-10T): a model trained with shared blocks becomes one whose blocks
 * are independent copies of the shared weights, optimizer moments copied too, so training continues from the
 * same point with L times the parameters. At the moment of delinking both models compute the same function.
 */
public final class Delink {
    private Delink() {}

    /** Reads the pseudo checkpoint, writes the real model as a run directory (checkpoints/step-N) at out. */
    public static Path run(Path pseudoCheckpoint, Path out) throws IOException {
        Checkpoint.Loaded l = Checkpoint.load(pseudoCheckpoint);
        M6Config c = l.model().config;
        if (!c.shareLayers()) throw new IllegalArgumentException(l.dir() + " is not a shared-layer (pseudo) model: nothing to delink");
        M6Model real = new M6Model(c.withShareLayers(false), ScalarType.Float, 0);
        Map<String, Tensor> weights = widen(l.model().params.named(), real);
        real.load(weights, l.dir().toString());
        AdamW opt = new AdamW(real.params.named(), AdamW.Options.defaults(0.05));
        long optStep = l.trainer() == null ? 0 : l.trainer().path("optimizerStep").asLong();
        Map<String, Tensor> state = Safetensors.readFull(l.dir(), Checkpoint.OPTIMIZER, "optimizer-experts"), widened = new HashMap<>();
        for (String name : real.params.named().keySet()) {
            for (String p : new String[]{"m.", "v."}) {
                Tensor t = state.get(p + shared(name));
                if (t == null) throw new IOException(l.dir() + ": optimizer state lacks " + p + shared(name));
                widened.put(p + name, t);
            }
        }
        opt.load(widened, optStep, l.dir().toString());
        int step = l.trainer() == null ? 0 : l.trainer().path("step").asInt();
        ObjectNode trainer = l.trainer() == null ? Json.MAPPER.createObjectNode() : ((ObjectNode) l.trainer()).deepCopy();
        trainer.put("delinkedFrom", l.dir().toString());
        return CheckpointWriter.save(out, step, new ResidentState(real, opt, Cluster.LOCAL), l.tokenizer(), trainer, 3);
    }

    /** Every real parameter takes the value of its shared counterpart (blocks.i.X reads blocks.0.X). */
    static Map<String, Tensor> widen(Map<String, Tensor> pseudo, M6Model real) {
        Map<String, Tensor> out = new HashMap<>();
        for (String name : real.params.named().keySet()) {
            Tensor t = pseudo.get(name) != null ? pseudo.get(name) : pseudo.get(shared(name));
            if (t == null) throw new IllegalArgumentException("pseudo model lacks " + shared(name));
            out.put(name, t);
        }
        return out;
    }

    static String shared(String name) { return name.replaceFirst("^blocks\\.\\d+\\.", "blocks.0."); }
}
