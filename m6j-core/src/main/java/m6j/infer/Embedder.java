package m6j.infer;

import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.M6Model;
import m6j.model.PrefixMask;
import m6j.runtime.Tensors;
import m6j.task.Batch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Embeddings of texts and images, L2-normalised, in one of two spaces. ALIGNED (a model with alignment heads,
 * trained with the itc objective): {@link M6Model#align}, image and text embedded apart and projected into one
 * space, so that a caption lands near its image. POOLED (any model): the final hidden states of the whole sequence,
 * read bidirectionally as a prefix and averaged over positions; text [BOS text], image [image][BOS]. The pooled
 * space puts images and texts in unrelated regions (cross-modal recall at chance, docs/BENCHMARKS.md), so it is the
 * default only for models without the heads. Not thread-safe: call it on the engine thread.
 */
public final class Embedder {
    public enum Space { ALIGNED, POOLED }

    private final M6Model model;
    private final Tokenizer tok;
    public final Space space;

    public Embedder(M6Model model, Tokenizer tok, Space space) {
        if (space == Space.ALIGNED && !model.config.aligned())
            throw new IllegalArgumentException("model " + model.config.name() + " has no alignment heads: use the pooled space");
        this.model = model;
        this.tok = tok;
        this.space = space;
    }

    /** The aligned space when the model has the heads, else the pooled one. */
    public static Embedder of(M6Model model, Tokenizer tok) {
        return new Embedder(model, tok, model.config.aligned() ? Space.ALIGNED : Space.POOLED);
    }

    public int dimensions() { return space == Space.ALIGNED ? model.config.itcDim() : model.config.dModel(); }

    /** Positions an image takes in its forward. */
    public int imagePositions() { return model.config.patches() + (space == Space.POOLED ? 1 : 0); }

    /** Token ids of a text input with BOS; IllegalArgumentException when it does not fit the context. */
    public int[] ids(String text) {
        int[] ids = tok.encodeWithBos(text);
        if (ids.length > model.config.maxTextLen())
            throw new IllegalArgumentException("Input of " + ids.length + " tokens exceeds the model's context of "
                    + model.config.maxTextLen() + " tokens.");
        return ids;
    }
    public int imageSize() { return model.config.imageSize(); }

    /** Token ids with BOS, cut to the context (for corpus texts). */
    public int[] idsClipped(String text) {
        int[] ids = tok.encodeWithBos(text);
        return ids.length <= model.config.maxTextLen() ? ids : Arrays.copyOf(ids, model.config.maxTextLen());
    }

    public float[] text(int[] ids) { return texts(List.of(ids)).get(0); }

    /** rgb: the model's image size, uint8. */
    public float[] image(byte[] rgb) { return images(List.of(rgb)).get(0); }

    /**
     * Texts in one forward, padded to the longest: row i reads its first len(i) positions bidirectionally
     * (the prefix mask keeps pads out of them) and is averaged over those positions only.
     */
    public List<float[]> texts(List<int[]> all) {
        int b = all.size(), t = all.stream().mapToInt(a -> a.length).max().orElse(1);
        long[] ids = new long[b * t];
        int[] len = new int[b];
        for (int i = 0; i < b; i++) {
            int[] a = all.get(i);
            len[i] = a.length;
            for (int j = 0; j < a.length; j++) ids[i * t + j] = a[j];
        }
        try (NoGradGuard ng = new NoGradGuard(); PointerScope s = new PointerScope()) {
            if (space == Space.ALIGNED) return rows(model.align(null, Tensors.longs(ids, b, t), ForwardContext.serving()).texts());
            Tensor h = model.forward(null, Tensors.longs(ids, b, t), 0, PrefixMask.of(len, t, 0), null, ForwardContext.serving());
            float[] flat = Tensors.toFloats(h);
            return pool(flat, b, t, len);
        }
    }

    /** Images in one forward (pooled: over [image][BOS], averaged over all positions). */
    public List<float[]> images(List<byte[]> rgb) {
        if (space == Space.ALIGNED) {
            try (NoGradGuard ng = new NoGradGuard(); PointerScope s = new PointerScope()) {
                Tensor img = Batch.images(rgb, model.config.imageSize(), model.config.channels());
                return rows(model.align(img, null, ForwardContext.serving()).images());
            }
        }
        int b = rgb.size(), n = model.config.patches() + 1;
        long[] ids = new long[b];
        Arrays.fill(ids, tok.id(Tokenizer.BOS));
        int[] len = new int[b];
        Arrays.fill(len, n);
        try (NoGradGuard ng = new NoGradGuard(); PointerScope s = new PointerScope()) {
            Tensor img = Batch.images(rgb, model.config.imageSize(), model.config.channels());
            Tensor h = model.forward(img, Tensors.longs(ids, b, 1), 0, PrefixMask.of(len, n, 0), null, ForwardContext.serving());
            return pool(Tensors.toFloats(h), b, n, len);
        }
    }

    private static List<float[]> rows(Tensor unit) {
        int b = (int) unit.size(0), d = (int) unit.size(1);
        float[] flat = Tensors.toFloats(unit.contiguous());
        List<float[]> out = new ArrayList<>(b);
        for (int i = 0; i < b; i++) out.add(Arrays.copyOfRange(flat, i * d, (i + 1) * d));
        return out;
    }

    private List<float[]> pool(float[] flat, int b, int t, int[] len) {
        int d = model.config.dModel();
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            float[] v = new float[d];
            for (int j = 0; j < len[i]; j++) for (int k = 0; k < d; k++) v[k] += flat[(i * t + j) * d + k];
            for (int k = 0; k < d; k++) v[k] /= len[i];
            out.add(normalise(v));
        }
        return out;
    }

    public static float[] normalise(float[] v) {
        double n = 0;
        for (float x : v) n += x * x;
        n = Math.sqrt(n);
        if (n > 0) for (int i = 0; i < v.length; i++) v[i] /= (float) n;
        return v;
    }
}
