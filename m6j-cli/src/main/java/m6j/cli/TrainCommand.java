package m6j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.model.M6Config;
import m6j.model.Presets;
import m6j.parallel.DistEnv;
import m6j.parallel.GlooCluster;
import m6j.parallel.Groups;
import m6j.parallel.Strategy;
import m6j.runtime.Bytes;
import m6j.runtime.Devices;
import m6j.runtime.Json;
import m6j.runtime.Memory;
import m6j.task.Objective;
import m6j.train.Cluster;
import m6j.train.TrainOptions;
import m6j.train.Trainer;
import m6j.vq.ImageVocab;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Pretrain an M6 model on a built corpus (ITT, MTT, denoising and prefix-LM objectives).")
public class TrainCommand implements Callable<Integer> {
    /** RUN/train-summary.json: peak RSS and offload counters of the last train command. */
    static final String SUMMARY = "train-summary.json";

    @Mixin Common common;

    @Option(names = "--preset", defaultValue = "tiny", description = "Model preset: ${COMPLETION-CANDIDATES}.", completionCandidates = PresetNames.class)
    String preset;

    @Option(names = "--config", description = "Model config JSON file (overrides --preset).")
    Path config;

    @Option(names = {"--corpus", "--data"}, defaultValue = "work/corpus", description = "Corpus directory (m6j corpus build).")
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
    @Option(names = "--checkpoint-every", defaultValue = "200", description = "Checkpoint every N steps and at the end (0: only at the end; -1: never).") int checkpointEvery;
    @Option(names = "--keep", defaultValue = "3", description = "Checkpoints to keep.") int keep;
    @Option(names = "--mixture", defaultValue = TrainOptions.DEFAULT_MIXTURE,
            description = "Objective weights (itt, mtt, denoise, lm, t2i).") String mixture;
    @Option(names = "--vqgan", description = "VQGAN checkpoint (m6j vqgan train): copied into the run, whose model then also learns text -> image codes (mixture key t2i).") Path vqgan;
    @Option(names = "--resume", description = "Continue from the run directory's latest complete checkpoint.") boolean resume;
    @Option(names = "--share-layers", description = "Pseudo giant (M6-10T's pseudo-to-real): every block shares one set of weights; 'm6j delink' makes them independent.") boolean shareLayers;
    @Option(names = "--checkpoint-layers", defaultValue = "none", description = "Activation checkpointing: none, all, or block indices like 0,2,3.") String ckptLayers;
    @Option(names = "--max-seconds", description = "Stop (with a checkpoint) after this much training time.") Double maxSeconds;
    @Option(names = "--dp", description = "Data-parallel degree (default: world size / --ep). Needs a distributed launch (m6j launch or torchrun variables).") Integer dp;
    @Option(names = "--memory-budget", defaultValue = "0", description = "Training state (weights, gradients, Adam moments) kept in memory, e.g. 2GiB; the rest is offloaded to disk per block and expert (0 = all in memory).")
    String memoryBudget;
    @Option(names = "--eval-every", defaultValue = "0", description = "Held-out loss (the corpus's test split, this run's objectives) every N steps, into heldout.jsonl (0 = never).") int evalEvery;
    @Option(names = "--patience", defaultValue = "0", description = "Early stopping: stop (with a checkpoint) after this many held-out evaluations without improvement (0 = never).") int patience;
    @Option(names = "--ep", description = "Expert-parallel degree: each rank holds experts/ep experts of every MoE layer.") Integer ep;

    @Override public Integer call() throws Exception {
        common.init();
        M6Config cfg = config != null ? Presets.read(config) : Presets.get(preset);
        if (shareLayers) cfg = cfg.withShareLayers(true);
        TrainOptions o = options();
        DistEnv env = DistEnv.fromEnv(System.getenv());
        if (env == null && ((dp != null && dp > 1) || (ep != null && ep > 1)))
            throw new IllegalArgumentException("--dp/--ep > 1 need several processes: use 'm6j launch --nproc N train ...'");
        Cluster cluster = Cluster.LOCAL;
        if (env != null && env.world() > 1 && Devices.chosen().is_cuda())
            throw new IllegalArgumentException("multi-process training runs on Gloo (CPU) for now: use --device cpu");
        if (env != null && env.world() > 1) cluster = new GlooCluster(new Groups(env, Strategy.of(env.world(), dp, ep)));
        if (vqgan == null && o.mixture().getOrDefault(Objective.T2I, 0.0) > 0 && ImageVocab.find(o.runDir()).isEmpty())
            throw new IllegalArgumentException("--mixture t2i needs --vqgan DIR (a VQGAN from 'm6j vqgan train') for a new run");
        if (vqgan != null && cluster.leader()) ImageVocab.setup(o.runDir(), vqgan);   // t2i: the run keeps its VQGAN
        cluster.barrier();
        Trainer t = new Trainer(cfg, o, resume, System.out, cluster).checkpointLayers(layers(ckptLayers, cfg.nLayers()));
        if (maxSeconds != null) t.maxSeconds(maxSeconds);
        try {
            t.run(steps);
        } catch (Groups.CollectiveFailure e) {
            System.err.println("m6j: " + e.getMessage());
            return 1;
        }
        if (!cluster.leader()) return 0;
        System.out.printf("m6j: trained to step %d; checkpoint %s; metrics %s; loss curve %s%n", t.step(),
                t.lastCheckpoint() == null ? "none" : t.lastCheckpoint(), run.resolve("metrics.jsonl"), run.resolve("loss.png"));
        ObjectNode summary = Json.MAPPER.createObjectNode();
        summary.put("step", t.step());
        t.state().report(System.out, summary);
        System.out.println("m6j: peak RSS " + Memory.mib(Memory.peakRss()));
        summary.put("peakRssBytes", Memory.peakRss());
        // What a benchmark reads of this run (besides metrics.jsonl), instead of parsing the text above.
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(run.resolve(SUMMARY).toFile(), summary);
        return 0;
    }

    /** "none", "all" or "0,2,3". */
    static Set<Integer> layers(String spec, int n) {
        if (spec.equals("none")) return Set.of();
        Set<Integer> out = new TreeSet<>();
        if (spec.equals("all")) { for (int i = 0; i < n; i++) out.add(i); return out; }
        try {
            for (String p : spec.split(",")) out.add(Integer.parseInt(p.trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--checkpoint-layers must be none, all or indices like 0,2,3");
        }
        return out;
    }

    TrainOptions options() { return builder().build(); }

    /** The options as given; finetune adds its own. */
    TrainOptions.Builder builder() {
        return TrainOptions.builder(corpus, run).steps(steps).batchSize(batchSize).accum(accum).lr(lr).minLr(minLr).warmup(warmup)
                .weightDecay(weightDecay).clip(clip).seed(seed).checkpointEvery(checkpointEvery).keepCheckpoints(keep)
                .mixture(mixture).memoryBudget(Bytes.parse(memoryBudget, "--memory-budget")).evalEvery(evalEvery).patience(patience);
    }

    /** For --help: the preset names. */
    static final class PresetNames extends ArrayList<String> {
        PresetNames() { super(Presets.names()); }
    }
}
