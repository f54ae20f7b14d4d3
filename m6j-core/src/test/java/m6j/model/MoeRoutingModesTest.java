package m6j.model;

import m6j.TestPresets;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Dropless routing, shared experts and auxiliary-loss-free bias balancing (moe.dropless, sharedExperts, biasUpdateRate). */
class MoeRoutingModesTest {
    @BeforeAll static void init() { Torch.init(); }

    static M6Config cfg(int d, int f, Map<String, Object> moe) {
        Map<String, Object> m = new HashMap<>(Map.of("auxLossWeight", 0.0, "zLossWeight", 0.0));
        m.putAll(moe);
        return TestPresets.get("moe-unit", Map.of("dModel", d, "dFF", f)).withMoe(TestPresets.moe("moe-unit", m));
    }

    record Run(double[] y, double[] gx, double[] gw1, double[] gw2, double[] grouter, RoutingStats stats) {}

    /** Forward and backward of y . r on fresh weights of one seed (so two configs get the same weights). */
    static Run run(M6Config c, ScalarType dtype, Tensor x0, Tensor r) {
        Params p = new Params(dtype, 11);
        torch.manual_seed(11);                                      // initial values come from the global generator (M6Model seeds it)
        MoeFfn ffn = new MoeFfn(p, "moe.", c, 0);
        Tensor x = x0.to(dtype).detach().requires_grad_(true);
        RoutingStats stats = new RoutingStats();
        Tensor y = ffn.forward(x, new ForwardContext(true, stats));
        y.mul(r.to(dtype)).sum().backward();
        return new Run(Tensors.toDoubles(y.to(ScalarType.Double)), Tensors.toDoubles(x.grad().to(ScalarType.Double)),
                Tensors.toDoubles(ffn.w1.grad().to(ScalarType.Double)), Tensors.toDoubles(ffn.w2.grad().to(ScalarType.Double)),
                Tensors.toDoubles(ffn.router.grad().to(ScalarType.Double)), stats);
    }

    static void close(double[] a, double[] b, double tol, String what) {
        assertThat(a).hasSameSizeAs(b);
        int worst = 0;
        for (int i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > Math.abs(a[worst] - b[worst])) worst = i;
        assertThat(a[worst]).as("%s[%d], the largest difference", what, worst).isCloseTo(b[worst], within(tol));
    }

    /** Dropless equals capacity routing that drops nothing: outputs and every gradient, fp32, to 1e-6. */
    @Test void droplessEqualsCapacityModeWithNoDrops() {
        for (Map<String, Object> routing : new Map[]{Map.of("experts", 4, "topK", 1), Map.of("experts", 8, "topK", 2),
                Map.of("experts", 8, "topK", 1, "prototypes", 2)}) {
            torch.manual_seed(5);
            Tensor x = Tensors.normal(1.0, ScalarType.Float, 3, 9, 16), r = Tensors.normal(1.0, ScalarType.Float, 3, 9, 16);
            Map<String, Object> capacity = new HashMap<>(routing), dropless = new HashMap<>(routing);
            capacity.put("dropTokens", false);                        // capacity = the busiest expert's load: no drops
            dropless.put("dropless", true);
            Run a = run(cfg(16, 24, capacity), ScalarType.Float, x, r), b = run(cfg(16, 24, dropless), ScalarType.Float, x, r);
            close(b.y, a.y, 1e-6, "y " + routing);
            close(b.gx, a.gx, 1e-6, "dx " + routing);
            close(b.gw1, a.gw1, 1e-6, "dw1 " + routing);
            close(b.gw2, a.gw2, 1e-6, "dw2 " + routing);
            close(b.grouter, a.grouter, 1e-6, "drouter " + routing);
            assertThat(b.stats.dropRate(0)).isZero();
            assertThat(b.stats.load().get(0)).isEqualTo(a.stats.load().get(0));
        }
    }

    /** With a capacity factor of 1.0 some tokens are dropped; dropless drops none and so differs exactly there. */
    @Test void droplessKeepsWhatCapacityDrops() {
        torch.manual_seed(6);
        Tensor x = Tensors.normal(1.0, ScalarType.Double, 4, 16, 8), r = Tensors.normal(1.0, ScalarType.Double, 4, 16, 8);
        Run dropping = run(cfg(8, 12, Map.of("experts", 4, "topK", 1, "capacityFactorTrain", 1.0, "minCapacity", 1)), ScalarType.Double, x, r);
        Run dropless = run(cfg(8, 12, Map.of("experts", 4, "topK", 1, "dropless", true)), ScalarType.Double, x, r);
        assertThat(dropping.stats.dropRate(0)).as("capacity 1.0 drops on random routing").isPositive();
        assertThat(dropless.stats.dropRate(0)).isZero();
        int zeroRows = 0;
        for (int t = 0; t < 64; t++) {
            double[] yd = Arrays.copyOfRange(dropping.y, t * 8, t * 8 + 8), yl = Arrays.copyOfRange(dropless.y, t * 8, t * 8 + 8);
            if (Arrays.stream(yd).allMatch(v -> v == 0)) {              // a dropped token: 0 out of the layer
                zeroRows++;
                assertThat(Arrays.stream(yl).anyMatch(v -> v != 0)).isTrue();
            } else {
                for (int i = 0; i < 8; i++) assertThat(yl[i]).isCloseTo(yd[i], within(1e-12));
            }
        }
        assertThat(zeroRows).isEqualTo((int) Math.round(dropping.stats.dropRate(0) * 64));
    }

    /** Shared experts add a dense FFN of sharedExperts x dFF width to the routed output; its gradients check. */
    @Test void sharedExpertsAddAnAlwaysOnFfn() {
        M6Config with = cfg(8, 12, Map.of("experts", 4, "topK", 2, "sharedExperts", 2, "dropTokens", false));
        Params p = new Params(ScalarType.Double, 3);
        torch.manual_seed(3);
        MoeFfn ffn = new MoeFfn(p, "moe.", with, 0);
        assertThat(ffn.shared.w1.sizes().vec().get()).containsExactly(24, 8);      // 2 experts x dFF 12
        assertThat(p.named()).containsKeys("moe.shared.fc1.weight", "moe.shared.fc2.bias");
        torch.manual_seed(4);
        Tensor x = Tensors.normal(1.0, ScalarType.Double, 2, 5, 8).requires_grad_(true), r = Tensors.normal(1.0, ScalarType.Double, 2, 5, 8);
        Tensor y = ffn.forward(x, ForwardContext.train());
        double[] routedPlusShared;
        try (NoGradGuard ng = new NoGradGuard()) {
            Params q = new Params(ScalarType.Double, 3);                // the same routed weights, no shared experts
            torch.manual_seed(3);
            MoeFfn routed = new MoeFfn(q, "moe.", cfg(8, 12, Map.of("experts", 4, "topK", 2, "dropTokens", false)), 0);
            Tensor h = torch.gelu(torch.linear(x, ffn.shared.w1, Tensors.opt(ffn.shared.b1)));
            Tensor dense = torch.linear(h, ffn.shared.w2, Tensors.opt(ffn.shared.b2));
            routedPlusShared = Tensors.toDoubles(routed.forward(x, ForwardContext.train()).add(dense));
        }
        close(Tensors.toDoubles(y), routedPlusShared, 1e-12, "y");
        y.mul(r).sum().backward();
        double[] g = Tensors.toDoubles(ffn.shared.w1.grad());
        Tensor flat = ffn.shared.w1.view(-1);
        try (NoGradGuard ng = new NoGradGuard()) {
            for (int i = 0; i < g.length; i += 17) {
                double orig = flat.get(i).item_double(), eps = 1e-6;
                flat.get(i).fill_(Tensors.scalar(orig + eps));
                double up = ffn.forward(x, ForwardContext.train()).mul(r).sum().item_double();
                flat.get(i).fill_(Tensors.scalar(orig - eps));
                double down = ffn.forward(x, ForwardContext.train()).mul(r).sum().item_double();
                flat.get(i).fill_(Tensors.scalar(orig));
                assertThat(g[i]).as("shared dW1[%d]", i).isCloseTo((up - down) / (2 * eps), within(1e-6));
            }
        }
    }

    /**
     * A router skewed towards one expert: bias balancing (no aux loss) brings the load to the mean within a few
     * dozen updates, the bias receives no gradient, and the gates stay the router's probabilities.
     */
    @Test void biasBalancingEvensASkewedLoadWithoutAnAuxLoss() {
        int e = 4;
        M6Config c = cfg(8, 12, Map.of("experts", e, "topK", 1, "dropTokens", false, "biasUpdateRate", 0.01));
        Params p = new Params(ScalarType.Double, 2);
        MoeFfn ffn = new MoeFfn(p, "moe.", c, 0);
        torch.manual_seed(9);
        Tensor x = Tensors.normal(1.0, ScalarType.Double, 8, 16, 8);
        try (NoGradGuard ng = new NoGradGuard()) {
            ffn.router.mul_(Tensors.scalar(50));                       // logits of order 1, as a trained router's
            ffn.router.narrow(0, 0, 1).add_(Tensors.scalar(1.5));      // and expert 0 winning most tokens
        }
        double first = imbalance(ffn, x), late = 0;
        for (int step = 0; step < 200; step++) {
            double now = imbalance(ffn, x);
            if (step >= 150) late += now / 50;
            ffn.balance(Arrays.stream(ffn.load()).asDoubleStream().toArray());
        }
        assertThat(first).as("max/mean load before").isGreaterThan(1.35);   // measured 1.41, then 1.00 from update 40 on
        assertThat(late).as("mean max/mean load over updates 150-200").isLessThan(1.05);
        double[] b = Tensors.toDoubles(ffn.bias);
        assertThat(b[0]).as("the overloaded expert's bias went down").isNegative();

        Tensor xg = x.detach().requires_grad_(true);
        Tensor y = ffn.forward(xg, ForwardContext.train());
        y.sum().backward();
        assertThat(ffn.bias.grad().defined()).as("the bias only chooses: no gradient").isFalse();
        assertThat(ffn.router.grad().defined()).isTrue();
        assertThatThrownBy(() -> TestPresets.moe("moe-unit", Map.of("biasUpdateRate", -1))).hasRootCauseInstanceOf(IllegalArgumentException.class);
    }

    /** Max over mean of the assignments per expert of one forward (the load this forward counted). */
    private static double imbalance(MoeFfn ffn, Tensor x) {
        long[] before = ffn.load();
        try (NoGradGuard ng = new NoGradGuard()) { ffn.forward(x, ForwardContext.train()); }
        long[] after = ffn.load();
        double max = 0, sum = 0;
        for (int i = 0; i < after.length; i++) { double l = after[i] - before[i]; max = Math.max(max, l); sum += l; }
        return max / (sum / after.length);
    }
}
