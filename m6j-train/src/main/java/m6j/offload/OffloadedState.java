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
 * offloaded units in their {@link Tiers}, brought in by the {@link WeightStore}, their gradients in the
 * {@link GradCollector}, updated by the {@link StreamingAdamW}, checkpointed by the {@link OffloadCheckpoint}, all
 * tensor work on them on the one {@link IoThread}; one global gradient norm over both. Holds these parts and
 * wires them; touches no tensor itself.
 */
public final class OffloadedState implements TrainState {
    private final OffloadPlan plan;
    private final M6Model model;
    private final AdamW opt;
    private final Tiers tiers;
    private final IoThread io;
    private final WeightStore store;
    private final GradCollector grads;
    private final StreamingAdamW adam;
    private final OffloadCheckpoint checkpoint;

    private OffloadedState(OffloadPlan plan, M6Config c, long seed, AdamW.Options o, Path dir) throws IOException {
        this.plan = plan;
        UnitIndex index = new UnitIndex(plan);
        tiers = new Tiers(dir, plan.units());
        io = new IoThread();
        grads = new GradCollector(index, tiers, io);
        store = new WeightStore(index, tiers, io, grads);
        adam = new StreamingAdamW(index, tiers, io, grads);
        checkpoint = new OffloadCheckpoint(index, tiers, io);
        model = new M6Model(c, ScalarType.Float, seed, null, ExpertShard.ALL, store);
        opt = new AdamW(index.resident(model.params.named()), o);
    }

    /** A model of config c whose offloaded parameters go to tiers under dir as they are made (it never exists whole). */
    public static OffloadedState create(OffloadPlan plan, M6Config c, long seed, AdamW.Options o, Path dir) throws IOException {
        return new OffloadedState(plan, c, seed, o, dir);
    }

    @Override public M6Model model() { return model; }

    @Override public LayerStore store() { return store; }

    public OffloadPlan plan() { return plan; }

    /** Experts brought in versus skipped because they received no tokens, since the start. */
    public long[] expertCounts() { return store.expertCounts(); }

    /** Most bytes held at once in working buffers (weights in use, gradients, prefetches, optimizer streaming). */
    public long peakWorkingBytes() {
        io.sync();
        return tiers.peakHeld();
    }

    @Override public double update(double lr, double clip) {
        double norm = Math.sqrt(AdamW.gradSquares(opt.params()) + grads.squares());
        AdamW.scaleToNorm(opt.params(), norm, clip);
        opt.update(lr);
        adam.update(opt.options(), lr, opt.step(), clip > 0 && norm > clip ? clip / (norm + 1e-6) : 1);
        AdamW.zeroGrad(model.params.named());
        return norm;
    }

    @Override public long optimizerStep() { return opt.step(); }

    /** One process: everything is replicated (no expert shard files). */
    @Override public List<Safetensors.Entry> weights(boolean expertShard) {
        return expertShard ? List.of() : checkpoint.entries(model.params.named(), "");
    }

    @Override public List<Safetensors.Entry> moments(boolean expertShard) {
        if (expertShard) return List.of();
        List<Safetensors.Entry> state = new ArrayList<>(checkpoint.entries(prefixed(opt.state(), "m."), "m."));
        state.addAll(checkpoint.entries(prefixed(opt.state(), "v."), "v."));
        return state;
    }

    private static Map<String, Tensor> prefixed(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((k, t) -> { if (k.startsWith(prefix)) out.put(k, t); });
        return out;
    }

    @Override public void resume(Path dir, long optimizerStep) throws IOException { checkpoint.resume(dir, model, opt, optimizerStep); }

    @Override public void report(PrintStream out, ObjectNode summary) {
        long[] ex = expertCounts();
        double[] sec = {io.waitSeconds(), adam.seconds()};
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
