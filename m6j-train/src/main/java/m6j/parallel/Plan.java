package m6j.parallel;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.model.M6Config;
import m6j.model.MoeConfig;
import m6j.runtime.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prices a training run before it starts: parameters (total, active per token), FLOPs (6 x active x tokens),
 * memory per device by component under a strategy, whether it fits, time at an assumed utilisation, energy.
 * Mixed precision as in M6/Megatron: 2-byte weights and gradients, fp32 master weights + two Adam moments
 * (12 bytes per parameter) unless offloaded or sharded (ZeRO-1 over the data-parallel replicas).
 */
public final class Plan {
    public record Gpu(String name, double memoryGiB, double peakTflops, double watts) {}

    public enum Offload { NONE, OPTIMIZER, ALL }

    /**
     * gpus = dp x mp x ep... as a budget: ep devices share each layer's experts, mp (tensor/pipeline model parallel,
     * Megatron-style) split the dense weights, and the remaining factor dp replicates.
     */
    public record Strategy(int gpus, int ep, int mp, boolean zero1, Offload offload, boolean checkpointing) {
        public Strategy {
            if (gpus < 1 || ep < 1 || mp < 1) throw new IllegalArgumentException("--gpus, --ep and --mp must be >= 1");
            if (gpus % ep != 0 || gpus % mp != 0) throw new IllegalArgumentException("--gpus must be a multiple of --ep and of --mp");
        }
        int dp() { return Math.max(1, gpus / mp / ep); }
    }

    /** tokensPerGpu: tokens of one micro-batch on one device (activation memory); mfu: assumed model FLOP utilisation. */
    public record Result(M6Config model, Gpu gpu, Strategy strategy, double tokens, int seqLen, int tokensPerGpu, double mfu, double pue,
                         long totalParams, long activeParams, double flopsPerToken, Map<String, Double> memoryGiB,
                         boolean fits, String overflow, double secondsPerStep, double days, double kWh) {}

    private static final JsonNode GPUS = Json.resource("/m6j/gpus.json");

    public static List<String> gpuNames() {
        List<String> out = new ArrayList<>();
        GPUS.fieldNames().forEachRemaining(n -> { if (!n.startsWith("_")) out.add(n); });
        return out;
    }

    public static Gpu gpu(String name) {
        JsonNode n = GPUS.get(name);
        if (n == null || name.startsWith("_")) throw new IllegalArgumentException("unknown --gpu '" + name + "'; known: " + String.join(", ", gpuNames()));
        return new Gpu(name, n.path("memoryGiB").asDouble(), n.path("peakTflops").asDouble(), n.path("watts").asDouble());
    }

    public static Result price(M6Config c, Gpu gpu, Strategy s, double tokens, int tokensPerGpu, double mfu, double pue) {
        if (tokens <= 0 || tokensPerGpu < 1 || mfu <= 0 || mfu > 1 || pue < 1)
            throw new IllegalArgumentException("need --tokens > 0, --tokens-per-gpu >= 1, 0 < --mfu <= 1, --pue >= 1");
        long[] counts = c.parameterCounts();
        long total = counts[0], active = counts[1];
        MoeConfig m = c.moe();
        long expertParams = 0;
        for (int l = 0; l < c.nLayers(); l++)
            if (m.isMoeLayer(l)) expertParams += (long) m.experts() * (2L * c.dModel() * c.dFF() + c.dFF() + c.dModel());
        if (m.enabled() && m.experts() % s.ep() != 0) throw new IllegalArgumentException(m.experts() + " experts do not split over --ep " + s.ep());
        double dense = total - expertParams;
        double perGpuParams = dense / s.mp() + (double) expertParams / s.ep(); // experts split over ep, dense over mp
        double optimizerShare = s.zero1() ? 1.0 / s.dp() : 1.0;
        double gib = 1024.0 * 1024 * 1024;
        Map<String, Double> mem = new LinkedHashMap<>();
        mem.put("weights (fp16)", s.offload() == Offload.ALL ? 2.0 * perGpuParams / c.nLayers() / gib : 2.0 * perGpuParams / gib);
        mem.put("gradients (fp16)", s.offload() == Offload.ALL ? 2.0 * perGpuParams / c.nLayers() / gib : 2.0 * perGpuParams / gib);
        mem.put("optimizer (fp32 master + Adam m, v)", s.offload() == Offload.NONE ? 12.0 * perGpuParams * optimizerShare / gib : 0.0);
        // Per layer and token, 34*d bytes of fp16 activations without recomputation (Korthikanti et al. 2022), plus
        // 5*heads*seq bytes for attention scores; with checkpointing only each block's input (2*d) is kept, plus one block's full set.
        double perLayerToken = 34.0 * c.dModel() + 5.0 * c.nHeads() * Math.min(c.maxTextLen(), tokensPerGpu);
        double act = s.checkpointing() ? (2.0 * c.dModel() * c.nLayers() + perLayerToken) * tokensPerGpu
                : perLayerToken * c.nLayers() * tokensPerGpu;
        mem.put("activations", act / gib);
        double used = mem.values().stream().mapToDouble(Double::doubleValue).sum();
        mem.put("total", used);
        double usable = gpu.memoryGiB() * 0.9;                                 // allocator fragmentation, workspace, CUDA context
        boolean fits = used <= usable;
        String overflow = "";
        if (!fits) {
            String big = "";
            double bigV = -1;
            for (var e : mem.entrySet()) if (!e.getKey().equals("total") && e.getValue() > bigV) { bigV = e.getValue(); big = e.getKey(); }
            overflow = String.format("needs %.1f GiB per device of %.0f GiB usable; the largest component is %s at %.1f GiB", used, usable, big, bigV);
        }
        double flopsPerToken = 6.0 * active;
        double clusterFlops = s.gpus() * gpu.peakTflops() * 1e12 * mfu;
        double seconds = tokens * flopsPerToken / clusterFlops;
        double step = (double) tokensPerGpu * s.gpus() * flopsPerToken / clusterFlops;
        double kWh = s.gpus() * gpu.watts() * pue * seconds / 3600 / 1000;
        return new Result(c, gpu, s, tokens, c.maxTextLen(), tokensPerGpu, mfu, pue, total, active, flopsPerToken, mem, fits, overflow,
                step, seconds / 86400, kWh);
    }

    public static String table(Result r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("plan: %s on %d x %s (ep=%d, mp=%d, dp=%d%s%s%s), %.3g tokens, assumed MFU %.0f%%, PUE %.2f%n",
                r.model().name(), r.strategy().gpus(), r.gpu().name(), r.strategy().ep(), r.strategy().mp(), r.strategy().dp(),
                r.strategy().zero1() ? ", ZeRO-1" : "", r.strategy().offload() != Offload.NONE ? ", offload " + r.strategy().offload().name().toLowerCase() : "",
                r.strategy().checkpointing() ? ", activation checkpointing" : "", r.tokens(), 100 * r.mfu(), r.pue()));
        b.append(String.format("  parameters        %,.0f total (%s), %,.0f active per token (%s)%n", (double) r.totalParams(), human(r.totalParams()),
                (double) r.activeParams(), human(r.activeParams())));
        b.append(String.format("  FLOPs per token   %.3g (6 x active); run total %.3g FLOPs%n", r.flopsPerToken(), r.flopsPerToken() * r.tokens()));
        b.append(String.format("  memory per device (micro-batch of %d tokens):%n", r.tokensPerGpu()));
        r.memoryGiB().forEach((k, v) -> b.append(String.format("    %-38s %10.2f GiB%n", k, v)));
        b.append(r.fits() ? String.format("  fits in %.0f GiB (90%% of it usable)%n", r.gpu().memoryGiB()) : "  DOES NOT FIT: " + r.overflow() + "\n");
        b.append(String.format("  time              %.3g s per step of %d tokens/device; %.2f days in all%n", r.secondsPerStep(), r.tokensPerGpu(), r.days()));
        b.append(String.format("  energy            %,.0f kWh (%.3g MWh) at %.0f W per device%n", r.kWh(), r.kWh() / 1000, r.gpu().watts()));
        return b.toString();
    }

    static String human(long n) {
        if (n >= 1e12) return String.format("%.2fT", n / 1e12);
        if (n >= 1e9) return String.format("%.2fB", n / 1e9);
        if (n >= 1e6) return String.format("%.2fM", n / 1e6);
        return Long.toString(n);
    }
}
