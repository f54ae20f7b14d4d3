package m6j.model;

import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Per-forward state: training or not (capacity factor), the summed auxiliary losses, optional routing statistics,
 * and what is applied to the model from outside: the expert exchange, where block weights come from (the layer
 * store), which blocks are recomputed in backward, the gather of a batch-wide loss's rows from other ranks, and the
 * tape that runs the backward across all of them.
 */
public final class ForwardContext {
    public final boolean training;
    public final RoutingStats stats;
    /** Expert-parallel exchange, or null when this process holds every expert. */
    public final ExpertExchange exchange;
    private final Tape tape = new Tape();
    private Tensor aux;
    private boolean dropTokens = true;
    private Set<Integer> checkpointed = Set.of();
    private LayerStore store = LayerStore.RESIDENT;
    private Lora adapter;
    private RowGather gather = RowGather.LOCAL;
    private boolean countsLoad = true;

    public ForwardContext(boolean training, RoutingStats stats) { this(training, stats, null); }

    public ForwardContext(boolean training, RoutingStats stats, ExpertExchange exchange) {
        this.training = training;
        this.stats = stats;
        this.exchange = exchange;
    }

    public static ForwardContext train() { return new ForwardContext(true, null); }

    public static ForwardContext eval() { return new ForwardContext(false, null); }

    /**
     * Evaluation without MoE token dropping: every token reaches its experts, so a request's output does not
     * depend on which other requests share its batch (serving with continuous batching).
     */
    public static ForwardContext serving() { return serving(null); }

    /** As {@link #serving()}, collecting routing statistics (or not, when stats is null). */
    public static ForwardContext serving(RoutingStats stats) {
        ForwardContext c = new ForwardContext(false, stats);
        c.dropTokens = false;
        return c;
    }

    /** Whether MoE layers count their load here for bias balancing (not in a recomputed block's second run). */
    boolean countsLoad() { return countsLoad; }

    /** False when MoE layers must keep every token whatever the capacity factor says. */
    public boolean dropTokens() { return dropTokens; }

    /** Activation checkpointing for these blocks (training only): their activations are recomputed in backward. */
    public ForwardContext checkpoint(Set<Integer> layers) {
        checkpointed = Set.copyOf(layers);
        return this;
    }

    /** Where block weights come from (granular offloading); blocks whose weights it drops are recomputed in training. */
    public ForwardContext store(LayerStore s) {
        if (exchange != null && s != LayerStore.RESIDENT)
            throw new IllegalArgumentException("offloading together with expert parallelism is not supported yet");
        store = s;
        return this;
    }

    LayerStore store() { return store; }

    /** Low-rank adapters applied to the matrices they target (fine-tuning with --lora), or none (null). */
    public ForwardContext adapter(Lora a) {
        adapter = a;
        return this;
    }

    /** How a loss over the whole batch gathers rows from the other data-parallel ranks (the itc objective). */
    public ForwardContext gather(RowGather g) {
        gather = g;
        return this;
    }

    public RowGather gather() { return gather; }

    /** W of module with the adapter's low-rank update folded in (the token embedding, used as a lookup and tied output). */
    Tensor weight(String module, Tensor w) { return adapter == null ? w : adapter.weight(module, w); }

    /** x W^T + b of module, with the adapter's low-rank update where it adapts module. */
    Tensor linear(String module, Tensor x, Tensor w, Tensor b) {
        Tensor y = torch.linear(x, w, Tensors.opt(b));
        return adapter == null ? y : adapter.linear(module, x, y, training);
    }

    /** b + x W for batched experts ids (x (E', C, in), W (E', in, out)), with the adapter's update. */
    Tensor experts(String module, Tensor x, Tensor w, Tensor b, long[] ids) {
        Tensor y = torch.baddbmm(b, x, w);
        return adapter == null ? y : adapter.experts(module, x, y, ids, training);
    }

    /** A context for running a block once more: the same exchange and store, its own aux loss and tape. */
    ForwardContext child(boolean withStats) {
        ForwardContext c = new ForwardContext(training, withStats ? stats : null, exchange);
        c.dropTokens = dropTokens;
        c.store = store;
        c.adapter = adapter;
        c.countsLoad = countsLoad && withStats;                          // counted in the first run only, as the stats
        return c;
    }

    /** Block b as this context runs blocks: recomputed in backward or not, its weights brought in by the store. */
    Tensor block(Block b, Tensor x, Tensor mask, KvCache cache) {
        if (training && (checkpointed.contains(b.layer) || store.offloaded(b.layer))) {
            aux = tape.cut(aux);                        // the aux loss so far is used after the block's segment
            return tape.recompute(b, x, mask, this);
        }
        store.enter(b.layer, false);
        Tensor y = b.forward(x, mask, cache, this);
        store.exit(b.layer, false);
        return y;
    }

    /** A tensor computed before the next exchange and used after it: the stand-in to use after. */
    Tensor cut(Tensor t) { return tape.cut(t); }

    /** t through an exchange (there), whose gradient goes back by back. */
    Tensor cross(Tensor t, UnaryOperator<Tensor> there, UnaryOperator<Tensor> back) {
        aux = tape.cut(aux);
        return tape.cross(t, there, back);
    }

    /** Backward of a loss computed with this context, segment by segment (see {@link Tape}). */
    public void backward(Tensor loss) { tape.backward(loss); }

    void addAux(Tensor t) { aux = aux == null ? t : aux.add(t); }

    /** Sum of MoE load-balance and z losses (already weighted), or null for a dense model. */
    public Tensor auxLoss() { return aux; }
}
