package m6j.model;

import org.bytedeco.pytorch.Tensor;

import java.util.Set;

/** Per-forward state: training or not (capacity factor), the summed auxiliary losses, optional routing statistics. */
public final class ForwardContext {
    public final boolean training;
    public final RoutingStats stats;
    /** Expert-parallel exchange, or null when this process holds every expert. */
    public final ExpertExchange exchange;
    private Tensor aux;
    private boolean dropTokens = true;
    private Set<Integer> checkpointed = Set.of();
    private Recompute recompute;
    private LayerStore store;
    private double auxScale = 1;

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
    public static ForwardContext serving() {
        ForwardContext c = new ForwardContext(false, null);
        c.dropTokens = false;
        return c;
    }

    /** False when MoE layers must keep every token whatever the capacity factor says. */
    public boolean dropTokens() { return dropTokens; }

    /**
     * Activation checkpointing for these blocks (training only). auxScale is d(loss)/d(aux) of the loss that
     * {@link #backward} will be given (e.g. 1/micro-batches).
     */
    public ForwardContext checkpoint(Set<Integer> layers, double auxScale) {
        if (exchange != null && !layers.isEmpty())
            throw new IllegalArgumentException("activation checkpointing together with expert parallelism is not supported yet");
        checkpointed = Set.copyOf(layers);
        this.auxScale = auxScale;
        return this;
    }

    /**
     * Granular offloading: the store's offloaded blocks run recomputed (see {@link LayerStore}). Call after
     * {@link #checkpoint}; auxScale as there.
     */
    public ForwardContext offload(LayerStore s, double auxScale) {
        if (s == null) return this;
        if (exchange != null) throw new IllegalArgumentException("offloading together with expert parallelism is not supported yet");
        store = s;
        this.auxScale = auxScale;
        return this;
    }

    LayerStore store() { return store; }

    boolean offloaded(int layer) { return store != null && store.offloaded(layer); }

    boolean checkpointed(int layer) {
        return training && (checkpointed.contains(layer) || offloaded(layer));
    }

    Recompute recompute() {
        if (recompute == null) recompute = new Recompute(auxScale);
        return recompute;
    }

    /** Backward of a loss computed with this context, including recomputation of checkpointed blocks. */
    public void backward(Tensor loss) {
        loss.backward();
        if (recompute != null) recompute.backward();
    }

    void addAux(Tensor t) { aux = aux == null ? t : aux.add(t); }

    /** Sum of MoE load-balance and z losses (already weighted), or null for a dense model. */
    public Tensor auxLoss() { return aux; }
}
