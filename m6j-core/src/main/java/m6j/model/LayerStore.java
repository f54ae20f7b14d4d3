package m6j.model;

import org.bytedeco.pytorch.Tensor;

/**
 * Where a block's weights come from: the seam granular offloading plugs into. Every block runs between
 * enter and exit, and a MoE block asks it which experts run and with what weights. The resident store is a
 * no-op: the model's own tensors. An offloading store brings a block's weights in at enter, takes them away at
 * exit, and after a backward takes the gradients too; so training recomputes its blocks ({@link Tape}): their
 * forward keeps no activations (and so no weights), their backward runs them again with the weights brought in.
 */
public interface LayerStore {
    /** The experts a MoE block runs (ids into its tokens-per-expert counts) and their w1, b1, w2, b2, stacked on dim 0 in that order. */
    record Experts(long[] ids, Tensor[] weights) {}

    /** A model whose weights are all its own tensors: nothing to bring in. */
    LayerStore RESIDENT = new LayerStore() {
        @Override public boolean offloaded(int layer) { return false; }
        @Override public void enter(int layer, boolean grad) {}
        @Override public void exit(int layer, boolean grad) {}
        @Override public Experts experts(int layer, long[] tokens, Tensor[] own) {
            long[] all = new long[tokens.length];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return new Experts(all, own);
        }
    };

    /** True when the store drops this block's weights between uses (then a training forward recomputes it). */
    boolean offloaded(int layer);

    /** Before block layer runs; grad: the run is the recomputation whose backward follows. */
    void enter(int layer, boolean grad);

    /** After block layer ran; grad: its backward is done, so its gradients are complete for this micro-batch. */
    void exit(int layer, boolean grad);

    /**
     * The experts block layer runs, given the tokens each expert received, and their weights; own: the block's
     * own tensors (every expert this process holds). Inside enter(layer, true) brought-in weights are leaves whose
     * gradients the store collects at exit.
     */
    Experts experts(int layer, long[] tokens, Tensor[] own);
}
