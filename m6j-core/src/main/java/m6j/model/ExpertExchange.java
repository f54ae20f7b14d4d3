package m6j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * The seam where expert parallelism plugs into the MoE layer: exchanging the (experts, capacity, d) dispatch
 * buffer with the ranks that own the experts, and back. Implementations live outside the model (m6j.parallel)
 * and are plain collectives: the MoE layer sends tensors through them across the {@link Tape}, which carries
 * gradients back by the inverse exchange (the gradient of a dispatch goes back by combine, and the other way).
 */
public interface ExpertExchange {
    /** The capacity all ranks of the expert-parallel group use: the largest of their local ones. */
    int agreeCapacity(int local);

    /** (E, C, d) for all experts from this rank -> (E_local, ranks*C, d) for this rank's experts from all ranks. */
    Tensor dispatch(Tensor perExpert);

    /** The inverse of dispatch: (E_local, ranks*C, d) expert outputs -> (E, C, d) back at the tokens' ranks. */
    Tensor combine(Tensor expertOut);
}
