package m6j.model;

import org.bytedeco.pytorch.Tensor;

/** Per-forward state: training or not (capacity factor), the summed auxiliary losses, optional routing statistics. */
public final class ForwardContext {
    public final boolean training;
    public final RoutingStats stats;
    /** Expert-parallel exchange, or null when this process holds every expert. */
    public final ExpertExchange exchange;
    private Tensor aux;

    public ForwardContext(boolean training, RoutingStats stats) { this(training, stats, null); }

    public ForwardContext(boolean training, RoutingStats stats, ExpertExchange exchange) {
        this.training = training;
        this.stats = stats;
        this.exchange = exchange;
    }

    public static ForwardContext train() { return new ForwardContext(true, null); }

    public static ForwardContext eval() { return new ForwardContext(false, null); }

    void addAux(Tensor t) { aux = aux == null ? t : aux.add(t); }

    /** Sum of MoE load-balance and z losses (already weighted), or null for a dense model. */
    public Tensor auxLoss() { return aux; }
}
