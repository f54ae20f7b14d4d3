package m6j.cli;

import m6j.model.M6Config;
import m6j.model.Presets;
import m6j.train.TrainOptions;
import m6j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Pretrain an M6 model on a built corpus (ITT, MTT, denoising and prefix-LM objectives).")
public final class TrainCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = "--preset", defaultValue = "tiny", description = "Model preset: ${COMPLETION-CANDIDATES}.", completionCandidates = PresetNames.class)
    String preset;

    @Option(names = "--config", description = "Model config JSON file (overrides --preset).")
    Path config;

    @Option(names = "--corpus", defaultValue = "work/corpus", description = "Corpus directory (m6j corpus build).")
    Path corpus;

    @Option(names = "--run", defaultValue = "work/run", description = "Run directory: checkpoints, metrics, loss.png.")
    Path run;

    @Option(names = "--steps", defaultValue = "1000") int steps;
    @Option(names = "--batch-size", defaultValue = "32") int batchSize;
    @Option(names = "--accum", defaultValue = "1", description = "Gradient accumulation micro-batches per step.") int accum;
    @Option(names = "--lr", defaultValue = "1e-3") double lr;
    @Option(names = "--min-lr", defaultValue = "1e-4") double minLr;
    @Option(names = "--warmup", defaultValue = "50") int warmup;
    @Option(names = "--weight-decay", defaultValue = "0.05") double weightDecay;
    @Option(names = "--clip", defaultValue = "1.0", description = "Gradient norm clip (0 = off).") double clip;
    @Option(names = "--seed", defaultValue = "1234") long seed;
    @Option(names = "--checkpoint-every", defaultValue = "200") int checkpointEvery;
    @Option(names = "--keep", defaultValue = "3", description = "Checkpoints to keep.") int keep;
    @Option(names = "--mixture", defaultValue = "itt=0.5,mtt=0.1,denoise=0.15,lm=0.25",
            description = "Objective weights (itt, mtt, denoise, lm).") String mixture;
    @Option(names = "--resume", description = "Continue from the run directory's latest complete checkpoint.") boolean resume;

    @Override public Integer call() throws Exception {
        common.init();
        M6Config cfg = config != null ? Presets.read(config) : Presets.get(preset);
        TrainOptions o = options();
        Trainer t = new Trainer(cfg, o, resume, System.out);
        t.run(steps);
        System.out.printf("m6j: trained to step %d; checkpoint %s; metrics %s; loss curve %s%n", t.step(), t.lastCheckpoint(),
                run.resolve("metrics.jsonl"), run.resolve("loss.png"));
        return 0;
    }

    TrainOptions options() {
        return new TrainOptions(corpus, run, steps, batchSize, accum, lr, minLr, warmup, weightDecay, clip, seed,
                checkpointEvery, keep, TrainOptions.parseMixture(mixture), 16);
    }

    /** For --help: the preset names. */
    static final class PresetNames extends java.util.ArrayList<String> {
        PresetNames() { super(Presets.names()); }
    }
}
