package m6j.serve;

import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.M6Model;
import m6j.model.PrefixMask;
import m6j.runtime.Tensors;
import m6j.train.Batch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.List;

/**
 * Embeddings from the model's pooled states: the final hidden states of the whole sequence, read
 * bidirectionally as a prefix, averaged over positions and L2-normalised. Text: [BOS text]; image: [image][BOS].
 * Not thread-safe: call it on the scheduler thread.
 */
public final class Embedder {
    private final M6Model model;
    private final Tokenizer tok;

    public Embedder(M6Model model, Tokenizer tok) {
        this.model = model;
        this.tok = tok;
    }

    public int dimensions() { return model.config.dModel(); }

    /** Token ids of a text input with BOS; 400 when it does not fit the context. */
    public int[] ids(String text, String param) {
        int[] ids = tok.encode(text);
        if (ids.length + 1 > model.config.maxTextLen())
            throw ApiError.invalid(param, "context_length_exceeded", "Input of " + (ids.length + 1) + " tokens exceeds the model's context of "
                    + model.config.maxTextLen() + " tokens.");
        int[] out = new int[ids.length + 1];
        out[0] = tok.id(Tokenizer.BOS);
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    public int imageSize() { return model.config.imageSize(); }

    /** Token ids with BOS, cut to the context (for corpus texts). */
    public int[] idsClipped(String text) {
        int[] ids = tok.encode(text);
        int n = Math.min(ids.length, model.config.maxTextLen() - 1);
        int[] out = new int[n + 1];
        out[0] = tok.id(Tokenizer.BOS);
        System.arraycopy(ids, 0, out, 1, n);
        return out;
    }

    public float[] text(int[] ids) { return pooled(null, ids); }

    /** rgb: the model's image size, uint8. */
    public float[] image(byte[] rgb) { return pooled(rgb, new int[]{tok.id(Tokenizer.BOS)}); }

    private float[] pooled(byte[] rgb, int[] ids) {
        try (NoGradGuard ng = new NoGradGuard(); PointerScope s = new PointerScope()) {
            long[] l = new long[ids.length];
            for (int i = 0; i < ids.length; i++) l[i] = ids[i];
            Tensor img = rgb == null ? null : Batch.images(List.of(rgb), model.config.imageSize(), model.config.channels());
            int n = (rgb == null ? 0 : model.config.patches()) + ids.length;
            Tensor h = model.forward(img, Tensors.longs(l, 1, ids.length), 0, PrefixMask.of(new int[]{n}, n, 0), null, ForwardContext.serving());
            float[] v = Tensors.toFloats(h.mean(new long[]{1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            return normalise(v);
        }
    }

    static float[] normalise(float[] v) {
        double n = 0;
        for (float x : v) n += x * x;
        n = Math.sqrt(n);
        if (n > 0) for (int i = 0; i < v.length; i++) v[i] /= (float) n;
        return v;
    }
}
