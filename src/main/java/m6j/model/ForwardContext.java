package m6j.model;

import org.bytedeco.pytorch.Tensor;

/** Per-forward state: training or not (capacity factor), the summed auxiliary losses, optional routing statistics. */
public final class ForwardContext {
    public final boolean training;
    public final RoutingStats stats;
    private Tensor aux;

    public ForwardContext(boolean training, RoutingStats stats) {
        this.training = training;
        this.stats = stats;
    }

    public static ForwardContext train() { return new ForwardContext(true, null); }

    public static ForwardContext eval() { return new ForwardContext(false, null); }

    void addAux(Tensor t) { aux = aux == null ? t : aux.add(t); }

    /** Sum of MoE load-balance and z losses (already weighted), or null for a dense model. */
    public Tensor auxLoss() { return aux; }
}
