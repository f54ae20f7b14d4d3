package m6j.vq;

import m6j.runtime.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

import java.util.Random;

/**
 * The codebook: nearest-code lookup with a straight-through gradient and a commitment loss; the codes themselves
 * follow exponential moving averages of the encoder outputs assigned to them (van den Oord et al.), and codes
 * unused for restartAfter updates are restarted at random encoder outputs of the current batch. The EMA state is
 * kept in Java arrays and the codebook tensor is only written by {@link #update}, outside any PointerScope.
 */
public final class Quantizer {
    /** indices (B, g, g) long; quantized (B, D, g, g) with straight-through gradient to z; commitment loss (scalar). */
    public record Result(Tensor indices, Tensor quantized, Tensor commitLoss) {}

    final Tensor codebook;                           // (K, D), no grad
    private final int k, d;
    private final double decay;
    private final float[] clusterSize, embedSum;
    private final long[] lastUsed;
    private boolean initialised;
    private long updates;
    private final int restartAfter;

    Quantizer(Weights buffers, int k, int d, double decay, int restartAfter) {
        this.k = k;
        this.d = d;
        this.decay = decay;
        this.restartAfter = restartAfter;
        codebook = buffers.add("quant.codebook", () -> Tensors.normal(1.0, ScalarType.Float, k, d));
        clusterSize = new float[k];
        embedSum = new float[k * d];
        lastUsed = new long[k];
    }

    public int size() { return k; }

    public int dim() { return d; }

    /** z (B, D, g, g) -> nearest codes. */
    public Result quantize(Tensor z) {
        long b = z.size(0), g = z.size(2);
        Tensor flat = z.permute(0, 2, 3, 1).reshape(-1, d);                               // (N, D)
        Tensor idx = nearest(flat);                                                        // (N)
        Tensor q = codebook.index_select(0, idx).view(b, g, g, d).permute(0, 3, 1, 2);     // (B, D, g, g)
        Tensor commit = torch.mse_loss(z, q.detach());
        Tensor st = z.add(q.sub(z).detach());                                             // value q, gradient to z
        return new Result(idx.view(b, g, g), st, commit);
    }

    /** (N, D) -> (N) index of the nearest code (squared Euclidean distance). */
    public Tensor nearest(Tensor flat) {
        Tensor dist = flat.pow(Tensors.scalar(2)).sum(new long[]{1}, true, new ScalarTypeOptional())
                .sub(flat.matmul(codebook.t()).mul(Tensors.scalar(2)))
                .add(codebook.pow(Tensors.scalar(2)).sum(new long[]{1}, false, new ScalarTypeOptional()));  // (N, K)
        return dist.argmin(new LongOptional(1), false);
    }

    /** codes (B, g, g) long -> (B, D, g, g) code vectors. */
    public Tensor lookup(Tensor codes) {
        long b = codes.size(0), g = codes.size(1);
        return codebook.index_select(0, codes.reshape(-1)).view(b, g, g, d).permute(0, 3, 1, 2);
    }

    /**
     * EMA step from this batch's encoder outputs z (N*D floats, row-major) and their codes; restarts dead codes.
     * Returns how many codes were restarted. Must run outside a PointerScope.
     */
    public int update(float[] z, long[] idx, Random rng) {
        if (PointerScope.getInnerScope() != null)
            throw new IllegalStateException("Quantizer.update must run outside a PointerScope");
        int n = idx.length;
        float[] e = new float[k * d];
        if (!initialised) {                       // start every code at a random encoder output
            for (int c = 0; c < k; c++) {
                int r = rng.nextInt(n);
                System.arraycopy(z, r * d, embedSum, c * d, d);
                clusterSize[c] = 1f;
            }
            initialised = true;
        }
        updates++;
        float[] count = new float[k], sum = new float[k * d];
        for (int i = 0; i < n; i++) {
            int c = (int) idx[i];
            count[c]++;
            lastUsed[c] = updates;
            for (int j = 0; j < d; j++) sum[c * d + j] += z[i * d + j];
        }
        float a = (float) decay, b1 = 1f - a;
        double total = 0;
        for (int c = 0; c < k; c++) {
            clusterSize[c] = a * clusterSize[c] + b1 * count[c];
            for (int j = 0; j < d; j++) embedSum[c * d + j] = a * embedSum[c * d + j] + b1 * sum[c * d + j];
            total += clusterSize[c];
        }
        int restarted = 0;
        for (int c = 0; c < k; c++) {
            if (updates - lastUsed[c] >= restartAfter) {
                int r = rng.nextInt(n);
                for (int j = 0; j < d; j++) embedSum[c * d + j] = z[r * d + j] + (float) (rng.nextGaussian() * 1e-3);
                clusterSize[c] = 1f;
                lastUsed[c] = updates;
                restarted++;
            }
            double lap = (clusterSize[c] + 1e-5) / (total + k * 1e-5) * total;  // Laplace smoothing keeps rare codes finite
            for (int j = 0; j < d; j++) e[c * d + j] = (float) (embedSum[c * d + j] / lap);
        }
        try (NoGradGuard ng = new NoGradGuard(); Tensor src = Tensors.floats(e, k, d)) {
            codebook.copy_(src);
        }
        return restarted;
    }

    /** Usage of a histogram of codes: perplexity exp(H) and how many codes never occur. */
    public static double[] usage(long[] codes, int k) {
        long[] h = new long[k];
        for (long c : codes) h[(int) c]++;
        double ent = 0;
        int dead = 0;
        for (long v : h) {
            if (v == 0) { dead++; continue; }
            double p = (double) v / codes.length;
            ent -= p * Math.log(p);
        }
        return new double[]{Math.exp(ent), dead};
    }
}
