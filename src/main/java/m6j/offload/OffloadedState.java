package m6j.offload;

import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.model.ExpertShard;
import m6j.model.LayerStore;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.optim.AdamW;
import m6j.runtime.Memory;
import m6j.runtime.Safetensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Training state under a memory budget (one process, CPU): the plan's resident tensors with a plain AdamW, the
 * offloaded units in the {@link Offloader}'s tiers with its streaming AdamW; one global gradient norm over both.
 */
public final class OffloadedState implements TrainState {
    private final Offloader off;
    private final M6Model model;
    private final AdamW opt;

    private OffloadedState(Offloader off, M6Model model, AdamW opt) {
        this.off = off;
        this.model = model;
        this.opt = opt;
    }

    /** A model of config c whose offloaded parameters go to tiers under dir as they are made (it never exists whole). */
    public static OffloadedState create(OffloadPlan plan, M6Config c, long seed, AdamW.Options o, Path dir) throws IOException {
        Offloader off = new Offloader(plan, dir);
        M6Model model = new M6Model(c, ScalarType.Float, seed, null, ExpertShard.ALL, off);
        return new OffloadedState(off, model, new AdamW(off.resident(model.params.named()), o));
    }

    @Override public M6Model model() { return model; }

    @Override public LayerStore store() { return off; }

    public OffloadPlan plan() { return off.plan(); }

    /** Experts brought in versus skipped because they received no tokens, since the start. */
    public long[] expertCounts() { return off.expertCounts(); }

    /** Most bytes held at once in working buffers (weights in use, gradients, prefetches, optimizer streaming). */
    public long peakWorkingBytes() { return off.peakWorkingBytes(); }

    @Override public double update(double lr, double clip) {
        double norm = Math.sqrt(AdamW.gradSquares(opt.params()) + off.gradSquares());
        AdamW.scaleToNorm(opt.params(), norm, clip);
        opt.update(lr);
        off.update(opt.options(), lr, opt.step(), clip > 0 && norm > clip ? clip / (norm + 1e-6) : 1);
        AdamW.zeroGrad(model.params.named());
        return norm;
    }

    @Override public long optimizerStep() { return opt.step(); }

    /** One process: everything is replicated (no expert shard files). */
    @Override public List<Safetensors.Entry> weights(boolean expertShard) {
        return expertShard ? List.of() : off.entries(model.params.named(), "");
    }

    @Override public List<Safetensors.Entry> moments(boolean expertShard) {
        if (expertShard) return List.of();
        List<Safetensors.Entry> state = new ArrayList<>(off.entries(prefixed(opt.state(), "m."), "m."));
        state.addAll(off.entries(prefixed(opt.state(), "v."), "v."));
        return state;
    }

    private static Map<String, Tensor> prefixed(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((k, t) -> { if (k.startsWith(prefix)) out.put(k, t); });
        return out;
    }

    @Override public void resume(Path dir, long optimizerStep) throws IOException { off.resume(dir, model, opt, optimizerStep); }

    @Override public void report(PrintStream out, ObjectNode summary) {
        long[] ex = expertCounts();
        double[] sec = off.seconds();
        out.printf("m6j: offload: %,d expert loads, %,d experts skipped (no tokens routed); peak working buffers %s;"
                        + " waited %.0f s for offload I/O, %.0f s of it in the streaming optimizer%n",
                ex[0], ex[1], Memory.mib(peakWorkingBytes()), sec[0], sec[1]);
        ObjectNode n = summary.putObject("offload");
        n.put("expertLoads", ex[0]);
        n.put("expertSkips", ex[1]);
        n.put("peakWorkingBytes", peakWorkingBytes());
        n.put("ioWaitSeconds", sec[0]);
        n.put("optimizerSeconds", sec[1]);
    }
}
