package m6j.model;

import m6j.TestPresets;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.function.DoubleSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MoeFfnTest {
    @BeforeAll static void init() { Torch.init(); }

    static M6Config cfg(int d, int f, MoeConfig moe) {
        return TestPresets.get("moe-unit", Map.of("dModel", d, "dFF", f)).withMoe(moe);
    }

    static MoeConfig moe(int e, int k, int prototypes, boolean drop, double aux, double z) {
        return TestPresets.moe("moe-unit", Map.of("experts", e, "topK", k, "prototypes", prototypes, "dropTokens", drop,
                "auxLossWeight", aux, "zLossWeight", z));
    }

    @Test void gradientMatchesFiniteDifferences() {
        M6Config c = cfg(4, 6, moe(3, 2, 1, false, 0, 0));
        Params p = new Params(ScalarType.Double, 1);
        torch.manual_seed(3);
        MoeFfn ffn = new MoeFfn(p, "moe.", c, 0);
        Tensor x = Tensors.normal(1.0, ScalarType.Double, 1, 5, 4).requires_grad_(true);
        Tensor r = Tensors.normal(1.0, ScalarType.Double, 1, 5, 4);
        Tensor loss = ffn.forward(x, ForwardContext.train()).mul(r).sum();
        loss.backward();
        double[] gx = Tensors.toDoubles(x.grad());
        double[] gw = Tensors.toDoubles(ffn.w1.grad());
        double[] gr = Tensors.toDoubles(ffn.router.grad());
        double eps = 1e-6;
        try (NoGradGuard ng = new NoGradGuard()) {
            checkFd(x, gx, () -> ffn.forward(x, ForwardContext.train()).mul(r).sum().item_double(), eps);
            checkFd(ffn.w1, gw, () -> ffn.forward(x, ForwardContext.train()).mul(r).sum().item_double(), eps);
            checkFd(ffn.router, gr, () -> ffn.forward(x, ForwardContext.train()).mul(r).sum().item_double(), eps);
        }
    }

    private static void checkFd(Tensor t, double[] analytic, DoubleSupplier f, double eps) {
        Tensor flat = t.view(-1);
        for (int i = 0; i < analytic.length; i += Math.max(1, analytic.length / 12)) {
            double orig = flat.get(i).item_double();
            flat.get(i).fill_(Tensors.scalar(orig + eps));
            double up = f.getAsDouble();
            flat.get(i).fill_(Tensors.scalar(orig - eps));
            double down = f.getAsDouble();
            flat.get(i).fill_(Tensors.scalar(orig));
            double fd = (up - down) / (2 * eps);
            assertThat(analytic[i]).as("grad[%d]", i).isCloseTo(fd, within(1e-6 + 1e-5 * Math.abs(fd)));
        }
    }

    @Test void oneExpertWithoutDroppingEqualsDenseFfn() {
        M6Config moeCfg = cfg(8, 16, moe(1, 1, 1, false, 0, 0));
        M6Config denseCfg = cfg(8, 16, MoeConfig.dense());
        Params pm = new Params(ScalarType.Double, 1), pd = new Params(ScalarType.Double, 1);
        MoeFfn moe = new MoeFfn(pm, "moe.", moeCfg, 0);
        DenseFfn dense = new DenseFfn(pd, "ffn.", denseCfg);
        try (NoGradGuard ng = new NoGradGuard()) {
            // dense weights are (out, in); expert weights are (in, out) for bmm.
            moe.w1.copy_(dense.w1.t().unsqueeze(0));
            moe.b1.copy_(Tensors.normal(1, ScalarType.Double, 1, 1, 16));
            dense.b1.copy_(moe.b1.view(16));
            moe.w2.copy_(dense.w2.t().unsqueeze(0));
            moe.b2.copy_(Tensors.normal(1, ScalarType.Double, 1, 1, 8));
            dense.b2.copy_(moe.b2.view(8));
            Tensor x = Tensors.normal(1.0, ScalarType.Double, 2, 7, 8);
            double[] a = Tensors.toDoubles(moe.forward(x, ForwardContext.train()));
            double[] b = Tensors.toDoubles(dense.forward(x, ForwardContext.train()));
            for (int i = 0; i < a.length; i++) assertThat(a[i]).isCloseTo(b[i], within(1e-12));
        }
    }

    @Test void capacityFollowsFormulaAndOverflowIsDropped() {
        MoeConfig m = moe(4, 1, 1, true, 0, 0);
        assertThat(m.capacity(16, true)).isEqualTo(5);             // ceil(1*16/4*1.25)
        assertThat(m.capacity(16, false)).isEqualTo(8);            // ceil(16/4*2.0)
        assertThat(m.capacity(4, true)).isEqualTo(4);              // the minimum
        assertThat(moe(8, 2, 1, true, 0, 0).capacity(100, true)).isEqualTo(32); // ceil(2*100/8*1.25)
        assertThat(moe(8, 1, 4, true, 0, 0).capacity(100, false)).isEqualTo(100); // k top-1 with 4 prototypes: k = 4

        M6Config c = cfg(4, 8, m);
        Params p = new Params(ScalarType.Double, 1);
        MoeFfn ffn = new MoeFfn(p, "moe.", c, 0);
        try (NoGradGuard ng = new NoGradGuard()) {
            ffn.router.zero_();
            ffn.router.get(0).fill_(Tensors.scalar(5.0));         // every token prefers expert 0
            Tensor x = Tensors.ones(ScalarType.Double, 1, 16, 4).add(Tensors.normal(0.01, ScalarType.Double, 1, 16, 4));
            RoutingStats stats = new RoutingStats();
            double[] y = Tensors.toDoubles(ffn.forward(x, new ForwardContext(true, stats)));
            assertThat(stats.dropRate(0)).isCloseTo(11 / 16.0, within(1e-12));
            assertThat(stats.load().get(0)).containsExactly(5, 0, 0, 0);
            for (int t = 0; t < 16; t++) {
                double norm = 0;
                for (int j = 0; j < 4; j++) norm += Math.abs(y[t * 4 + j]);
                if (t < 5) assertThat(norm).as("kept token %d", t).isGreaterThan(0);
                else assertThat(norm).as("dropped token %d passes through as 0", t).isEqualTo(0.0);
            }
        }
    }

    @Test void auxLossMatchesHandComputation() {
        // E=2, top-1, d=2, router = identity: logits = x.
        M6Config c = cfg(2, 4, moe(2, 1, 1, false, 1.0, 0));
        Params p = new Params(ScalarType.Double, 1);
        MoeFfn ffn = new MoeFfn(p, "moe.", c, 0);
        try (NoGradGuard ng = new NoGradGuard()) {
            ffn.router.copy_(Tensors.floats(new float[]{1, 0, 0, 1}, 2, 2).to(ScalarType.Double));
        }
        double[][] xs = {{2, 0}, {1, 0}, {0, 3}};
        Tensor x = Tensors.floats(new float[]{2, 0, 1, 0, 0, 3}, 1, 3, 2).to(ScalarType.Double);
        ForwardContext ctx = ForwardContext.train();
        ffn.forward(x, ctx);
        double[] mean = new double[2];
        for (double[] r : xs) {
            double z = Math.exp(r[0]) + Math.exp(r[1]);
            mean[0] += Math.exp(r[0]) / z / 3;
            mean[1] += Math.exp(r[1]) / z / 3;
        }
        double[] frac = {2 / 3.0, 1 / 3.0};                          // tokens 0,1 -> expert 0; token 2 -> expert 1
        double expected = 2 * (frac[0] * mean[0] + frac[1] * mean[1]);
        assertThat(ctx.auxLoss().item_double()).isCloseTo(expected, within(1e-12));
    }

    @Test void prototypesRouteTopOneInEachGroup() {
        M6Config c = cfg(4, 8, moe(4, 1, 2, false, 0.01, 0));
        Params p = new Params(ScalarType.Float, 1);
        MoeFfn ffn = new MoeFfn(p, "moe.", c, 0);
        RoutingStats stats = new RoutingStats();
        ffn.forward(Tensors.normal(1, ScalarType.Float, 2, 10, 4), new ForwardContext(true, stats));
        long[] load = stats.load().get(0);
        assertThat(load[0] + load[1]).isEqualTo(20);                 // each token: one expert of group 0 ...
        assertThat(load[2] + load[3]).isEqualTo(20);                 // ... and one of group 1
    }
}
