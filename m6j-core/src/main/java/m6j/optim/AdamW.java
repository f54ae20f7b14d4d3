package m6j.optim;

import m6j.runtime.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW written out with in-place ops, so its state (m, v) is ours to checkpoint, shard or offload.
 * Weight decay applies to matrices only (not biases, norms or 1-D tensors).
 */
public final class AdamW {
    public record Options(double beta1, double beta2, double eps, double weightDecay) {
        public Options {
            if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) throw new IllegalArgumentException("betas must be in [0, 1)");
            if (eps <= 0 || weightDecay < 0) throw new IllegalArgumentException("eps > 0 and weightDecay >= 0 required");
        }
        public static Options defaults(double wd) { return new Options(0.9, 0.95, 1e-8, wd); }
    }

    private final Map<String, Tensor> params;
    private final Map<String, Tensor> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private final Options o;
    private long step;

    public AdamW(Map<String, Tensor> params, Options o) {
        this.params = params;
        this.o = o;
        try (NoGradGuard ng = new NoGradGuard()) {
            for (var e : params.entrySet()) {                      // allocated here, outside any step's PointerScope
                m.put(e.getKey(), e.getValue().detach().clone().zero_());
                v.put(e.getKey(), e.getValue().detach().clone().zero_());
            }
        }
    }

    public long step() { return step; }

    /** The parameters this optimizer updates (with offloading: the resident ones only). */
    public Map<String, Tensor> params() { return params; }

    /**
     * One update with learning rate lr; parameters without a gradient are skipped. Must run outside any
     * PointerScope: an in-place op returns the same Java object, which a scope would then free (docs/ENGINE.md, note 2).
     * Temporaries are closed here instead.
     */
    public void update(double lr) {
        requireNoScope("AdamW.update");
        step++;
        double bc1 = 1 - Math.pow(o.beta1(), step), bc2 = 1 - Math.pow(o.beta2(), step);
        try (NoGradGuard ng = new NoGradGuard()) {
            for (var e : params.entrySet()) {
                Tensor p = e.getValue(), g = p.grad();
                if (g == null || !g.defined()) continue;
                apply(p, g, m.get(e.getKey()), v.get(e.getKey()), p.dim() >= 2 ? List.of(p) : List.of(), o, lr, bc1, bc2);
                g.close();
            }
        }
    }

    /**
     * The AdamW update of one tensor in place (also used by the offloader, streaming units of flat state):
     * m, v moments; weight decay on the `decayed` views of p; bc1, bc2 the bias corrections of this step.
     */
    public static void apply(Tensor p, Tensor g, Tensor mm, Tensor vv, List<Tensor> decayed, Options o, double lr, double bc1, double bc2) {
        mm.lerp_(g, Tensors.scalar(1 - o.beta1()));                       // m = b1 m + (1-b1) g
        vv.mul_(Tensors.scalar(o.beta2())).addcmul_(g, g, Tensors.scalar(1 - o.beta2()));
        if (o.weightDecay() > 0) for (Tensor d : decayed) d.mul_(Tensors.scalar(1 - lr * o.weightDecay()));
        if (!p.is_contiguous() || !mm.is_contiguous() || !vv.is_contiguous())
            throw new IllegalStateException("AdamW needs contiguous parameters and moments");
        // p -= lr/bc1 * m / (sqrt(v/bc2) + eps), in chunks: a whole-tensor denominator would be fresh pages every step
        try (Tensor pf = p.reshape(-1); Tensor mf = mm.reshape(-1); Tensor vf = vv.reshape(-1)) {
            long n = pf.numel();
            for (long i = 0; i < n; i += CHUNK) {
                long len = Math.min(CHUNK, n - i);
                try (Tensor pc = pf.narrow(0, i, len); Tensor mc = mf.narrow(0, i, len); Tensor vc = vf.narrow(0, i, len);
                     Tensor denom = vc.div(Tensors.scalar(bc2))) {
                    denom.sqrt_().add_(Tensors.scalar(o.eps()));
                    pc.addcdiv_(mc, denom, Tensors.scalar(-lr / bc1));
                }
            }
        }
    }

    public Options options() { return o; }

    /**
     * Drops every gradient (set to none, not zero): a parameter a step does not reach then gets no update at all,
     * the same whether the run was resumed or not (zeroed gradients would still decay its moments and weights).
     */
    public static void zeroGrad(Map<String, Tensor> params) {
        for (Tensor p : params.values()) p.mutable_grad().reset();   // mutable_grad() is the field itself
    }

    public static void requireNoScope(String what) {
        if (PointerScope.getInnerScope() != null)
            throw new IllegalStateException(what + " must run outside a PointerScope (it would free long-lived tensors)");
    }

    /** Scales all gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
    public static double clipGradNorm(Map<String, Tensor> params, double maxNorm) {
        double norm = Math.sqrt(gradSquares(params));
        scaleToNorm(params, norm, maxNorm);
        return norm;
    }

    /**
     * Sum of squares of t's elements, accumulated in double: a float norm of a 37M-element tensor is off by ~1e-6,
     * enough for an offloaded run (which sums per unit, not per tensor) to clip differently and drift. Done in
     * chunks of 1M elements, each widened to double (where the square of a float is exact) and summed: widening a
     * whole 150 MB gradient instead made fresh 300 MB buffers every step, and the page faults made this 40x slower
     * (1 s per expert tensor of xl-moe).
     */
    public static double squares(Tensor t) {
        double s = 0;
        try (NoGradGuard ng = new NoGradGuard(); Tensor flat = t.reshape(-1)) {
            long n = flat.numel();
            for (long i = 0; i < n; i += CHUNK)
                try (Tensor c = flat.narrow(0, i, Math.min(CHUNK, n - i)); Tensor d = c.to(ScalarType.Double);
                     Tensor sum = d.mul_(d).sum()) {
                    s += sum.item_double();
                }
        }
        return s;
    }

    /** Elements per chunk of whole-tensor temporaries: 4-8 MB, below glibc's mmap threshold, so reused (ENGINE note 5). */
    private static final long CHUNK = 1 << 20;

    /** Sum of squared L2 norms of the gradients present. */
    public static double gradSquares(Map<String, Tensor> params) {
        double sq = 0;
        try (NoGradGuard ng = new NoGradGuard()) {
            for (Tensor p : params.values()) {
                Tensor g = p.grad();
                if (g != null && g.defined()) {
                    sq += squares(g);
                }
                if (g != null) g.close();
            }
        }
        return sq;
    }

    /** Multiplies every gradient by maxNorm/norm when norm exceeds maxNorm (maxNorm 0 = no clipping). */
    public static void scaleToNorm(Map<String, Tensor> params, double norm, double maxNorm) {
        if (maxNorm <= 0 || norm <= maxNorm) return;
        double s = maxNorm / (norm + 1e-6);
        try (NoGradGuard ng = new NoGradGuard()) {
            for (Tensor p : params.values()) {
                Tensor g = p.grad();
                if (g != null && g.defined()) g.mul_(Tensors.scalar(s));
                if (g != null) g.close();
            }
        }
    }

    /** State for checkpoints: "m.NAME", "v.NAME". */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        m.forEach((k, t) -> out.put("m." + k, t));
        v.forEach((k, t) -> out.put("v." + k, t));
        return out;
    }

    public void load(Map<String, Tensor> state, long step, String source) {
        requireNoScope("AdamW.load");
        try (NoGradGuard ng = new NoGradGuard()) {
            for (String k : params.keySet()) {
                Tensor sm = state.get("m." + k), sv = state.get("v." + k);
                if (sm == null || sv == null) throw new IllegalArgumentException(source + ": missing optimizer state for '" + k + "'");
                m.get(k).copy_(sm);
                v.get(k).copy_(sv);
            }
        }
        this.step = step;
    }
}
