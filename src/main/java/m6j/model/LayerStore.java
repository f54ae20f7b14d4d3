package m6j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * Where a block's weights live when they are not all in memory (granular offloading). The model calls it around
 * each offloaded block; the store brings the block's weights in, and after a backward takes the gradients away.
 * Offloaded blocks always run recomputed ({@link Tape}) in training: their forward keeps no activations (and so no
 * weights), their backward recomputes the block with its weights brought in once more.
 */
public interface LayerStore {
    /** A model whose weights are all its own tensors: nothing to bring in. */
    LayerStore RESIDENT = new LayerStore() {
        @Override public boolean offloaded(int layer) { return false; }
        @Override public void enter(int layer, boolean grad) {}
        @Override public void exit(int layer, boolean grad) {}
        @Override public Tensor[] experts(int layer, long[] ids) { throw new IllegalStateException("resident weights are the model's own"); }
    };

    /** True when this block's weights are managed by the store (not plain resident tensors). */
    boolean offloaded(int layer);

    /** Before block layer runs; grad: the run is the recomputation whose backward follows. */
    void enter(int layer, boolean grad);

    /** After block layer ran; grad: its backward is done, so its gradients are complete for this micro-batch. */
    void exit(int layer, boolean grad);

    /**
     * The MoE weights (w1, b1, w2, b2) of these experts of block layer, stacked on dim 0 in the order of ids.
     * Only experts that receive tokens are asked for. Inside enter(layer, true) they are leaves whose
     * gradients the store collects at exit.
     */
    Tensor[] experts(int layer, long[] ids);
}
