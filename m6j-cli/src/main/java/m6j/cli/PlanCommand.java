package m6j.cli;

import m6j.model.M6Config;
import m6j.model.Presets;
import m6j.parallel.Plan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Price a training run: parameters, FLOPs, memory per device by component, fit, time and energy.",
                "Example: ./m6j plan --preset m6-10t --gpus 512 --gpu v100-32gb --ep 512 --offload all --checkpointing --tokens 1e10"})
public final class PlanCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "base", description = "Model preset (default: ${DEFAULT-VALUE}).") String preset;
    @Option(names = "--config", description = "Model config JSON (overrides --preset).") Path config;
    @Option(names = "--gpus", defaultValue = "8") int gpus;
    @Option(names = "--gpu", defaultValue = "a100-80gb", description = "v100-32gb, a100-80gb, h100, h200.") String gpu;
    @Option(names = "--ep", defaultValue = "1", description = "Expert-parallel degree (experts split over this many devices).") int ep;
    @Option(names = "--mp", defaultValue = "1", description = "Model-parallel degree (tensor/pipeline) splitting the dense weights.") int mp;
    @Option(names = "--zero1", description = "Shard optimizer state over data-parallel replicas.") boolean zero1;
    @Option(names = "--offload", defaultValue = "none", description = "none, optimizer (state in host memory) or all (weights too, streamed per layer).") String offload;
    @Option(names = "--checkpointing", description = "Activation checkpointing (recompute each block in backward).") boolean checkpointing;
    @Option(names = "--tokens", defaultValue = "1e10", description = "Training tokens.") double tokens;
    @Option(names = "--tokens-per-gpu", defaultValue = "2048", description = "Tokens in one device's micro-batch.") int tokensPerGpu;
    @Option(names = "--mfu", defaultValue = "0.3", description = "Assumed model FLOP utilisation.") double mfu;
    @Option(names = "--pue", defaultValue = "1.1", description = "Datacenter power usage effectiveness.") double pue;
    @Option(names = "--compare", description = "Also print the built-in comparisons (M6-10T on 512 V100, GPT-3 175B).") boolean compare;

    @Override public Integer call() throws Exception {
        Plan.Offload off = switch (offload) {
            case "none" -> Plan.Offload.NONE;
            case "optimizer" -> Plan.Offload.OPTIMIZER;
            case "all" -> Plan.Offload.ALL;
            default -> throw new IllegalArgumentException("--offload must be none, optimizer or all");
        };
        M6Config c = config != null ? Presets.read(config) : Presets.get(preset);
        Plan.Result r = Plan.price(c, Plan.gpu(gpu), new Plan.Strategy(gpus, ep, mp, zero1, off, checkpointing), tokens, tokensPerGpu, mfu, pue);
        System.out.print(Plan.table(r));
        if (compare) System.out.print(comparisons());
        return r.fits() ? 0 : 3;
    }

    /** The two published reference points, priced with the same model so the assumptions are visible. */
    static String comparisons() {
        StringBuilder b = new StringBuilder("\n== Comparison 1: GPT-3 175B, 300B tokens on 10,000 V100 (Patterson et al. 2021: 14.8 days, 1,287 MWh published)\n");
        Plan.Result g = Plan.price(Presets.get("gpt3-175b"), Plan.gpu("v100-32gb"),
                new Plan.Strategy(9_984, 1, 64, true, Plan.Offload.NONE, true), 3e11, 2048, 0.20, 1.1);
        b.append(Plan.table(g));
        b.append(String.format("  -> at 20%% MFU and PUE 1.1 the planner gives %.1f days and %.0f MWh against the published 14.8 days and 1,287 MWh%n",
                g.days(), g.kWh() / 1000));
        b.append("\n== Comparison 2: M6-10T (48 layers, d 1024, FFN 9984, 10,240 experts in 80 prototypes) on 512 V100-32GB for 10 days\n");
        Plan.Result m = Plan.price(Presets.get("m6-10t"), Plan.gpu("v100-32gb"),
                new Plan.Strategy(512, 512, 1, false, Plan.Offload.ALL, true), 1e9, 2048, 0.20, 1.1);
        b.append(Plan.table(m));
        double energy10d = 512 * 300 * 1.1 * 240 / 1000.0;
        double tokens10d = 512 * 125e12 * 0.20 * 864_000 / m.flopsPerToken();
        b.append(String.format("  -> 10 days on 512 V100 draw about %.0f MWh (%.1f%% of GPT-3's 1,287 MWh), but at 20%% MFU that buys only %.3g tokens%n"
                + "     through %s active parameters per token: the saving comes from training far fewer tokens, not from cheaper tokens.%n",
                energy10d / 1000, 100 * energy10d / 1000 / 1287, tokens10d, String.format("%.3g", (double) m.activeParams())));
        return b.toString();
    }
}
