package m6j.cli;

import m6j.model.M6Config;
import m6j.model.MoeConfig;
import m6j.model.Presets;
import m6j.runtime.Machine;
import m6j.train.TrainBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * MoE training step against the dense step of equal active parameters, side by side in one run: for top-1 and top-2
 * over E experts, capacity routing with dropping (factors 1.0 and 1.25), capacity without dropping (padded to the
 * busiest expert) and dropless (sorted segments), every block MoE (so the dense model of width k x dFF has the same
 * active parameters, router aside); each ratio is MoE ms / dense ms of the same k, rounds interleaved.
 */
@Command(name = "moe", mixinStandardHelpOptions = true,
        description = "MoE step time over the dense step with equal active parameters (top-1, top-2), capacity 1.0/1.25 with dropping, no-drop and dropless, in one run.")
public final class BenchMoeCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = "--preset", defaultValue = "small", description = "Base shape (default: ${DEFAULT-VALUE}).") String preset;
    @Option(names = "--experts", defaultValue = "8") int experts;
    @Option(names = "--batch-size", defaultValue = "16") int batchSize;
    @Option(names = "--text-len", defaultValue = "32") int textLen;
    @Option(names = "--steps", defaultValue = "8", description = "Timed steps per variant and round (median reported).") int steps;
    @Option(names = "--warmup-steps", defaultValue = "2") int warmup;
    @Option(names = "--rounds", defaultValue = "2", description = "Rounds over all variants (interleaved, so drift hits all alike).") int rounds;

    @Override public Integer call() {
        if (experts < 2 || batchSize < 1 || textLen < 2 || steps < 1 || warmup < 0 || rounds < 1)
            throw new IllegalArgumentException("--experts >= 2, sizes and counts positive");
        common.init();
        M6Config base = Presets.get(preset);
        MoeConfig m = base.moe().enabled() ? base.moe() : Presets.get("small").moe();
        Map<String, M6Config> variants = new LinkedHashMap<>();
        for (int k : new int[]{1, 2}) {
            variants.put("top-" + k + " dense (equal active)", new M6Config(base.name(), base.vocabSize(), base.dModel(), base.nLayers(), base.nHeads(),
                    k * base.dFF(), base.maxTextLen(), base.imageSize(), base.patchSize(), base.channels(), MoeConfig.dense(), false, base.itcDim()));
            for (var v : List.of(Map.entry("capacity 1.0, dropping", new double[]{1.0, 1, 0}), Map.entry("capacity 1.25, dropping", new double[]{1.25, 1, 0}),
                    Map.entry("no drop (padded)", new double[]{1.25, 0, 0}), Map.entry("dropless", new double[]{1.25, 0, 1})))
                variants.put("top-" + k + " " + v.getKey(), base.withMoe(new MoeConfig(experts, 1, k, 1, v.getValue()[0], m.capacityFactorEval(),
                        m.minCapacity(), v.getValue()[1] == 1, m.auxLossWeight(), m.zLossWeight(), 0, 0, v.getValue()[2] == 1)));
        }
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        Map<String, TrainBench.Result> last = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++)
            for (var v : variants.entrySet()) {
                TrainBench.Result res = TrainBench.run(v.getValue(), batchSize, textLen, warmup, steps);
                ms.computeIfAbsent(v.getKey(), x -> new ArrayList<>()).add(res.msPerStep());
                last.put(v.getKey(), res);
                System.err.printf("m6j: round %d/%d  %-32s %8.1f ms/step%n", r + 1, rounds, v.getKey(), res.msPerStep());
            }
        double gflops = Machine.matmulGflops();
        System.out.printf("bench moe %s, E=%d, batch %d x %d positions, %d timed steps x %d rounds; matmul (1024^3 fp32, this run) %.1f GFLOP/s%n",
                base.name(), experts, batchSize, base.patches() + textLen, steps, rounds, gflops);
        System.out.println("CPU theoretical peak: " + Machine.theoreticalPeak().derivation());
        System.out.println("| variant | active params | ms/step per round | ratio to dense of the same k |");
        System.out.println("|---|---|---|---|");
        for (var e : ms.entrySet()) {
            String k = e.getKey().substring(0, 5);
            List<Double> dense = ms.get(k + " dense (equal active)");
            StringBuilder times = new StringBuilder(), ratios = new StringBuilder();
            for (int r = 0; r < e.getValue().size(); r++) {
                times.append(r == 0 ? "" : ", ").append(String.format("%.1f", e.getValue().get(r)));
                ratios.append(r == 0 ? "" : ", ").append(String.format("%.2f", e.getValue().get(r) / dense.get(r)));
            }
            System.out.printf("| %s | %,d | %s | %s |%n", e.getKey(), last.get(e.getKey()).activeParams(), times, ratios);
        }
        return 0;
    }
}
