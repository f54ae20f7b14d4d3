package m6j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * In-batch negatives across data-parallel ranks: the rows of a micro-batch tensor from every rank, in rank order,
 * with this rank's own rows being the local tensor itself (its gradient history kept) and the others' as values.
 * A loss computed alike on every rank from the gathered rows then gives each rank the exact gradient of its own
 * rows: no collective is needed in backward, and summing the ranks' parameter gradients gives the full gradient.
 * A parameter used on the gathered rows themselves (a temperature) would have its gradient counted once per rank:
 * it goes through {@link #shared} first.
 */
public interface RowGather {
    /** local (B, ...) -> (world*B, ...). */
    Tensor gather(Tensor local);

    /** t with its value and 1/world of its gradient, for a tensor every rank applies to all gathered rows. */
    Tensor shared(Tensor t);

    /** One process: the rows themselves. */
    RowGather LOCAL = new RowGather() {
        @Override public Tensor gather(Tensor local) { return local; }

        @Override public Tensor shared(Tensor t) { return t; }
    };
}
