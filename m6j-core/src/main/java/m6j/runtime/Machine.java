package m6j.runtime;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

    /**
     * The CPU's theoretical fp32 peak, cores x clock x vector lanes x FMA units x 2, with how it was derived (the
     * second MFU denominator beside the measured matmul rate: comparable across machines). Physical cores from
     * /proc/cpuinfo (siblings / cpu cores), clock from cpufreq's maximum where the kernel exposes it, else cpuinfo's
     * MHz; lanes from the widest vector extension listed (avx512f 16, avx/avx2 8, else 4); 2 FMA units per core is
     * assumed for x86 with FMA (Intel since Haswell, AMD since Zen; some parts have one 512-bit unit: then it is half).
     */
    public record Peak(int cores, double ghz, int lanes, int fmaUnits, String vector, String clockFrom) {
        public double gflops() { return cores * ghz * lanes * fmaUnits * 2; }

        public String derivation() {
            return String.format("%d cores x %.2f GHz (%s) x %d fp32 lanes (%s) x %d FMA units (assumed) x 2 FLOP = %.1f GFLOP/s",
                    cores, ghz, clockFrom, lanes, vector, fmaUnits, gflops());
        }
    }

    public static Peak theoreticalPeak() {
        String info = read(Path.of("/proc/cpuinfo"));
        int threads = Runtime.getRuntime().availableProcessors();
        int siblings = intField(info, "siblings"), perSocket = intField(info, "cpu cores");
        int cores = siblings > 0 && perSocket > 0 && siblings > perSocket ? Math.max(1, threads * perSocket / siblings) : threads;
        double ghz;
        String clock;
        String max = read(Path.of("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")).trim();
        if (!max.isEmpty()) { ghz = Long.parseLong(max) / 1e6; clock = "cpufreq max"; }
        else {
            Matcher m = Pattern.compile("cpu MHz\\s*:\\s*([0-9.]+)").matcher(info);
            ghz = m.find() ? Double.parseDouble(m.group(1)) / 1000 : 0;
            clock = ghz > 0 ? "cpuinfo MHz" : "unknown";
        }
        String flags = " " + field(info, "flags") + " " + field(info, "Features") + " ";
        int lanes;
        String vector;
        if (flags.contains(" avx512f ")) { lanes = 16; vector = "AVX-512"; }
        else if (flags.contains(" avx2 ")) { lanes = 8; vector = "AVX2"; }
        else if (flags.contains(" avx ")) { lanes = 8; vector = "AVX"; }
        else if (flags.contains(" asimd ")) { lanes = 4; vector = "NEON"; }
        else { lanes = 4; vector = "SSE"; }
        int fma = flags.contains(" fma ") || flags.contains(" asimd ") ? 2 : 1;
        return new Peak(cores, ghz, lanes, fma, vector, clock);
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static String field(String info, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\s*:\\s*(.*)$").matcher(info);
        return m.find() ? m.group(1) : "";
    }

    private static int intField(String info, String name) {
        try {
            return Integer.parseInt(field(info, name).trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
