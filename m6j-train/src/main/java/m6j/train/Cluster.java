package m6j.train;

import m6j.model.ExpertShard;
import m6j.model.ForwardContext;
import m6j.model.M6Model;
import m6j.model.Params;
import m6j.optim.AdamW;

/**
 * What the training loop asks of the processes it runs on. The single-process implementation is here;
 * data- and expert-parallel ones (m6j.parallel) wrap the same loop and model without changing them.
 * Every rank runs micro-batches rank*accum .. rank*accum+accum-1 of the step's world*accum.
 */
public interface Cluster {
    int rank();

    int world();

    default boolean leader() { return rank() == 0; }

    /** Which experts this rank's model holds. */
    ExpertShard shard();

    /** True for the one rank of each expert shard that writes it to checkpoints. */
    default boolean writesShard() { return rank() < shard().count(); }

    ForwardContext trainContext();

    /** Called as each step starts (a heartbeat for fault reports). */
    default void beginStep(int step) {}

    /** Sums gradients over the ranks that hold the same parameters. */
    default void reduceGradients(Params params) {}

    /** Global gradient-norm clipping over all parameters of the whole model; returns the norm before clipping. */
    default double clipGradNorm(Params params, double max) { return AdamW.clipGradNorm(params.named(), max); }

    /** Sum of a value over all ranks. */
    default double sum(double v) { return v; }

    /** Element-wise sum over all ranks (MoE routing loads for bias balancing). */
    default double[] sum(double[] v) { return v; }

    default void barrier() {}

    /** Checks that data-parallel replicas still hold identical parameters; returns a description (leader logs it). */
    default String verifyReplicas(M6Model model) { return ""; }

    /** A one-process cluster. */
    Cluster LOCAL = new Cluster() {
        @Override public int rank() { return 0; }
        @Override public int world() { return 1; }
        @Override public ExpertShard shard() { return ExpertShard.ALL; }
        @Override public ForwardContext trainContext() { return ForwardContext.train(); }
    };
}
