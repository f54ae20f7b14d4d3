package m6j.runtime;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.List;

/** What this machine can do, measured: printed beside every absolute time a benchmark reports (docs/ENGINE.md, note 15). */
public final class Machine {
    private Machine() {}

    /**
     * fp32 GFLOP/s of a 1024^3 matmul with the current thread settings: the 90th percentile of 5 s of runs.
     * On these VMs the rate climbs for several seconds before it settles, so a short median understates the peak.
     */
    public static double matmulGflops() {
        try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
            Tensor a = torch.randn(1024, 1024), bm = torch.randn(1024, 1024);
            List<Double> r = new ArrayList<>();
            long start = System.nanoTime();
            while (System.nanoTime() - start < 5_000_000_000L) {
                long t0 = System.nanoTime();
                try (Tensor c = a.matmul(bm)) {
                    r.add(2.0 * 1024 * 1024 * 1024 / ((System.nanoTime() - t0) / 1e9) / 1e9);
                }
            }
            double[] v = r.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return v[(int) (v.length * 0.9)];
        }
    }
}
