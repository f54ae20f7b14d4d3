package m6j.cli;

import m6j.data.Corpus;
import m6j.data.DataRoots;
import m6j.data.Example;
import m6j.data.Source;
import m6j.data.Split;
import m6j.vq.VqCheckpoint;
import m6j.vq.VqConfig;
import m6j.vq.VqEval;
import m6j.vq.VqModel;
import m6j.vq.VqTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** `m6j vqgan train|eval`: the stage-one image tokenizer. */
@Command(name = "vqgan", mixinStandardHelpOptions = true, description = "Train and evaluate the VQGAN image tokenizer (stage one of text-to-image).",
        subcommands = {VqganCommand.Train.class, VqganCommand.Eval.class})
public final class VqganCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "choose: train or eval");
    }

    /** The corpus images of one split, optionally only some sources, optionally at most max (0 = all). */
    static List<byte[]> images(Corpus corpus, Split split, String sources, int max) {
        Set<Source> keep = sources == null ? null : DataRoots.parseSources(sources);
        List<byte[]> out = new ArrayList<>();
        for (Example e : corpus.examples(split)) {
            if (e.image() == null || (keep != null && !keep.contains(e.source()))) continue;
            out.add(e.image());
            if (max > 0 && out.size() >= max) break;
        }
        return out;
    }

    static void print(VqEval.Report r) {
        System.out.printf("held out: %d images, PSNR %.2f dB (mean per image %.2f dB); codebook: perplexity %.1f, %d of %d codes used, %d dead%n",
                r.images(), r.psnr(), r.meanImagePsnr(), r.perplexity(), r.usedCodes(), r.codebookSize(), r.deadCodes());
    }

    @Command(name = "train", mixinStandardHelpOptions = true, description = "Train a VQGAN on the corpus images.")
    static final class Train implements Callable<Integer> {
        @Mixin Common common;
        @Option(names = "--preset", defaultValue = "fmnist32", description = "VQGAN preset (m6j/vqgan-presets.json): fmnist32, colour32, colour64. Default: ${DEFAULT-VALUE}")
        String preset;
        @Option(names = "--corpus", defaultValue = "work/corpus", description = "Built corpus (its image size must match the preset). Default: ${DEFAULT-VALUE}")
        Path corpus;
        @Option(names = "--sources", description = "Only images of these sources (comma-separated ids). Default: all with images")
        String sources;
        @Option(names = "--out", defaultValue = "work/vqgan", description = "Checkpoint directory. Default: ${DEFAULT-VALUE}")
        Path out;
        @Option(names = "--steps", defaultValue = "1500") int steps;
        @Option(names = "--batch-size", defaultValue = "32") int batchSize;
        @Option(names = "--lr", defaultValue = "2e-3") double lr;
        @Option(names = "--seed", defaultValue = "1") long seed;
        @Option(names = "--max-seconds", defaultValue = "1e9", description = "Stop (and save) after this much training time.") double maxSeconds;
        @Option(names = "--held-out", defaultValue = "1000", description = "Held-out (test split) images for PSNR. Default: ${DEFAULT-VALUE}") int heldOut;
        @Option(names = "--sample-every", defaultValue = "500") int sampleEvery;
        @Option(names = "--log-every", defaultValue = "50") int logEvery;

        @Override public Integer call() throws Exception {
            VqConfig c = VqConfig.preset(preset);
            var o = new VqTrainer.Options(out, steps, batchSize, lr, seed, logEvery, sampleEvery, maxSeconds);
            if (heldOut < 1) throw new IllegalArgumentException("--held-out must be >= 1");
            common.init();
            Corpus cp = Corpus.open(corpus);
            if (cp.imageSize() != c.imageSize())
                throw new IllegalArgumentException("corpus images are " + cp.imageSize() + "px but preset " + preset + " expects "
                        + c.imageSize() + "px: build the corpus with --image-size " + c.imageSize());
            List<byte[]> train = images(cp, Split.TRAIN, sources, 0), held = images(cp, Split.TEST, sources, heldOut);
            if (held.isEmpty()) throw new IllegalArgumentException("the corpus has no held-out (test) images for these sources");
            print(new VqTrainer(c, o, train, held, System.out).run());
            return 0;
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true, description = "Held-out reconstruction PSNR and codebook usage of a trained VQGAN.")
    static final class Eval implements Callable<Integer> {
        @Mixin Common common;
        @Option(names = "--vqgan", defaultValue = "work/vqgan", description = "VQGAN checkpoint directory. Default: ${DEFAULT-VALUE}") Path dir;
        @Option(names = "--corpus", defaultValue = "work/corpus") Path corpus;
        @Option(names = "--sources") String sources;
        @Option(names = "--held-out", defaultValue = "1000") int heldOut;

        @Override public Integer call() throws Exception {
            common.init();
            VqModel m = VqCheckpoint.load(dir);
            print(VqEval.run(m, images(Corpus.open(corpus), Split.TEST, sources, heldOut), 64));
            return 0;
        }
    }
}
