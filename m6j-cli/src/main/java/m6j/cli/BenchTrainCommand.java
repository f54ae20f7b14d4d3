package m6j.cli;

import m6j.model.M6Config;
import m6j.model.MoeConfig;
import m6j.model.Presets;
import m6j.train.TrainBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Time training steps of a preset on fixed-shape batches: tokens/s, ms/step, peak RSS and MFU "
                + "(model FLOP/s over the fp32 matmul FLOP/s measured in the same run).")
public final class BenchTrainCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = "--preset", defaultValue = "small") String preset;
    @Option(names = "--batch-size", defaultValue = "16") int batchSize;
    @Option(names = "--text-len", defaultValue = "32", description = "Text tokens per sequence (after the image patches).") int textLen;
    @Option(names = "--steps", defaultValue = "20", description = "Timed steps.") int steps;
    @Option(names = "--warmup-steps", defaultValue = "3") int warmup;
    @Option(names = "--dense", description = "Replace MoE layers by dense FFNs.") boolean dense;
    @Option(names = "--checkpoint-layers", defaultValue = "none", description = "Activation checkpointing: none, all or 0,2,3.") String ckpt;

    @Override public Integer call() {
        if (batchSize < 1 || textLen < 2 || steps < 1 || warmup < 0) throw new IllegalArgumentException("sizes must be positive");
        common.init();
        M6Config c = Presets.get(preset);
        if (dense) c = c.withMoe(MoeConfig.dense());
        TrainBench.Result r = TrainBench.run(c, batchSize, textLen, warmup, steps, TrainCommand.layers(ckpt, c.nLayers()));
        System.out.println(r.describe());
        return 0;
    }
}
