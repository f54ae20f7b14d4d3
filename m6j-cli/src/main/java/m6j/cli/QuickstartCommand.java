package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.CorpusReport;
import m6j.data.DataRoots;
import m6j.data.Source;
import m6j.data.Split;
import m6j.infer.Captioner;
import m6j.infer.Engine;
import m6j.infer.Evaluator;
import m6j.infer.Sampling;
import m6j.model.Presets;
import m6j.runtime.FileTrees;
import m6j.runtime.Machine;
import m6j.runtime.Json;
import m6j.train.TrainOptions;
import m6j.train.Trainer;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Build a corpus, train the tiny MoE preset, evaluate it and show captions and generations (about 2 + 650/R minutes, R: the matmul GFLOP/s it measures and prints first). Re-running continues where it stopped.")
public final class QuickstartCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = "--from", defaultValue = "sample", description = "Data: 'sample' (committed in the repo) or 'installed' (scripts/install-data.sh).")
    String from;

    @Option(names = "--dir", defaultValue = "work/quickstart", description = "Where the corpus and run go (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--steps", defaultValue = "1600", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch-size", defaultValue = "64") int batchSize;

    @Option(names = "--fresh", description = "Delete earlier quickstart output first.")
    boolean fresh;

    /**
     * Captions first: itt takes 70% of the steps. lm keeps 8% (a step of 64 x 64 tokens costs 3.3 itt steps, but
     * below that the held-out perplexity does not get under the unigram baseline in 1,600 steps); mtt and denoise
     * stay in at 1% each so the run shows every objective (docs/BENCHMARKS.md, "Quickstart", item 1).
     */
    static final String MIXTURE = "itt=0.7,vqa=0.1,itc=0.1,lm=0.08,mtt=0.01,denoise=0.01";

    @Override public Integer call() throws Exception {
        DataRoots roots = switch (from) {
            case "sample" -> DataRoots.sample(home());
            case "installed" -> DataRoots.installed();
            default -> throw new IllegalArgumentException("--from must be 'sample' or 'installed'");
        };
        common.init();
        long t0 = System.nanoTime();
        double gflops = Machine.matmulGflops();
        System.out.printf("== machine: 1024^3 fp32 matmul at %.0f GFLOP/s with %d threads; expect about %.0f min for %d steps%n",
                gflops, torch.get_num_threads(), expectedMinutes(gflops, steps), steps);
        if (fresh) FileTrees.delete(dir);
        Path corpusDir = dir.resolve("corpus-" + from), run = dir.resolve("run");
        System.out.println("== 1/4 corpus (" + from + ") -> " + corpusDir);
        if (!Files.isRegularFile(corpusDir.resolve(CorpusReport.FILE_NAME))) {
            CorpusReport r = CorpusBuilder.build(new CorpusOptions(roots, corpusDir, 32, 0L, 0.05, 0), true);
            System.out.println(r.table());
        } else {
            System.out.println("   already built");
        }
        Corpus corpus = Corpus.open(corpusDir);
        System.out.println("== 2/4 train preset 'tiny' for " + steps + " steps -> " + run);
        TrainOptions o = TrainOptions.builder(corpusDir, run).steps(steps).batchSize(batchSize).lr(2e-3).warmup(60)
                .checkpointEvery(250).keepCheckpoints(2).mixture(MIXTURE).build();
        Trainer t = new Trainer(Presets.get("tiny"), o, true, System.out);
        t.run(steps);
        System.out.println("== 3/4 evaluate on held-out data");
        Checkpoint.Loaded l = Checkpoint.load(run);
        Evaluator.Report rep = new Evaluator(l.model(), l.tokenizer(), corpus).run(1000, 400);
        EvalCommand.print(rep, System.out);
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(run.resolve("eval.json").toFile(), rep);
        System.out.println("== 4/4 samples");
        var fashion = corpus.examples(Split.TEST, Source.FASHION_MNIST);
        if (!fashion.isEmpty()) {
            var imgs = fashion.subList(0, Math.min(6, fashion.size()));
            List<String> caps;
            try (Engine engine = Engine.local(l.model(), l.tokenizer())) {
                caps = new Captioner(engine).caption(imgs.stream().map(e -> e.image()).toList(), Sampling.greedy());
            }
            for (int i = 0; i < imgs.size(); i++)
                System.out.printf("   caption  %-22s (truth: %s) -> %s%n", imgs.get(i).id(), imgs.get(i).text(), caps.get(i));
        }
        for (String p : new String[]{"The man said that", "It was a", "床前明月光，", "春风"}) {
            var outs = GenerateCommand.complete(l, p, 32, 1, new Sampling(0.8, 40, 0.95, 7));
            System.out.printf("   generate %s|%s%n", p, outs.get(0).replace('\n', ' '));
        }
        System.out.printf("== done in %.1f min. Loss curve: %s  Metrics: %s  Checkpoint: %s%n",
                (System.nanoTime() - t0) / 6e10, run.resolve("loss.png"), run.resolve("metrics.jsonl"), l.dir());
        System.out.println("   try: ./m6j caption -m " + run + " some.png    ./m6j generate -m " + run + " \"Once upon a time\"");
        return 0;
    }

    /**
     * The quickstart's time (corpus, training, evaluation; build excluded) in minutes: a part per training step that
     * scales with the inverse of the matmul rate R, in GFLOP/s-minutes, and a fixed part. Fitted to two measured runs
     * of the default (docs/BENCHMARKS.md, "Quickstart"): 11.3 min at R = 69 (one throttled core) and 5.2 min at R = 196
     * (2 threads, whose small matmuls gain less than the 1024^3 one).
     */
    static final double STEP_WORK = 0.406, FIXED_MINUTES = 1.9;

    static double expectedMinutes(double gflops, int steps) { return FIXED_MINUTES + STEP_WORK * steps / gflops; }

    /** The repository root (set by ./m6j), for the committed sample. */
    static Path home() { return Path.of(System.getProperty("m6j.home", ".")); }
}
