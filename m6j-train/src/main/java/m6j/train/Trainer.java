package m6j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Split;
import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.offload.OffloadPlan;
import m6j.offload.OffloadedState;
import m6j.offload.TrainState;
import m6j.optim.AdamW;
import m6j.optim.LrSchedule;
import m6j.runtime.Devices;
import m6j.runtime.Json;
import m6j.runtime.Memory;
import m6j.runtime.Tensors;
import m6j.task.Batch;
import m6j.task.ImageCodeData;
import m6j.task.Loss;
import m6j.task.Objective;
import m6j.task.Seeds;
import m6j.task.TrainData;
import m6j.vq.ImageVocab;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

/**
 * The pretraining loop: per step, pick an objective from the mixture (seeded by step), build its batch,
 * forward, cross-entropy on target positions + MoE aux loss, backward, clip, AdamW, schedule. Every source of
 * randomness is a function of (seed, step) or of the checkpointed data position, so --resume is exact.
 */
public final class Trainer {
    private final TrainOptions o;
    private final Cluster cluster;
    private final PrintStream log;
    private final M6Model model;
    private final Tokenizer tok;
    private final TrainData data;
    /** The test split for the held-out loss (--eval-every), or null. */
    private final TrainData heldOut;
    /** The labels a classify run learns to name (recorded in trainer.json for eval and /v1/classify), else empty. */
    private final List<String> classLabels = new ArrayList<>();
    private double bestHeldOut = Double.POSITIVE_INFINITY;
    private int bestStep = -1, evalsSinceBest;
    private final TrainState state;
    private final LrSchedule schedule;
    private final List<StepRecord> history = new ArrayList<>();
    private int step;
    private Path lastCheckpoint;
    private Set<Integer> checkpointLayers = Set.of();
    private double maxSeconds = Double.POSITIVE_INFINITY;

    /** Starts a new run, or with resume continues from the run directory's latest complete checkpoint. */
    public Trainer(M6Config preset, TrainOptions o, boolean resume, PrintStream log) throws IOException {
        this(preset, o, resume, log, Cluster.LOCAL);
    }

    /** A new run and a resumed one differ only in where the description and the state's values come from. */
    public Trainer(M6Config preset, TrainOptions o, boolean resume, PrintStream log, Cluster cluster) throws IOException {
        this.o = o;
        this.cluster = cluster;
        if (!cluster.leader()) log = new PrintStream(OutputStream.nullOutputStream());
        this.log = log;
        Corpus corpus = Corpus.open(o.corpus());
        Files.createDirectories(o.runDir());
        var ckpt = resume ? Checkpoint.latest(o.runDir()) : Optional.<Path>empty();
        if (resume && ckpt.isEmpty()) log.println("m6j: no checkpoint in " + o.runDir() + "; starting from scratch");
        if (o.memoryBudget() > 0 && cluster.world() > 1)
            throw new IllegalArgumentException("--memory-budget works in one process only (not with --dp/--ep or launch) for now");
        if (o.memoryBudget() > 0 && !Devices.isCpu(Devices.chosen()))
            throw new IllegalArgumentException("--memory-budget offloads CPU training only for now (no device tier yet): use --device cpu");
        Checkpoint.Description d = ckpt.isPresent() ? Checkpoint.describe(ckpt.get())
                : o.from() != null ? Checkpoint.describe(Checkpoint.resolve(o.from())) : newRun(corpus, preset);
        if (o.memoryBudget() > 0 && d.config().moe().biasUpdateRate() > 0)
            throw new IllegalArgumentException("moe.biasUpdateRate (bias balancing) with --memory-budget is not supported yet: the bias is updated in place, offloaded blocks are not");
        tok = d.tokenizer();
        state = trainState(d.config(), o, cluster, log);
        model = state.model();
        // A fine-tune keeps its base's tokenizer, and with it the base's number of span-corruption sentinels.
        int sentinels = o.from() == null ? o.sentinels() : (int) tok.specials().stream().filter(t -> t.startsWith("<extra_id_")).count();
        data = new TrainData(corpus, tok, model.config, Math.max(1, sentinels), o.seed());
        if (o.mixture().getOrDefault(Objective.CLASSIFY, 0.0) > 0) classLabels.addAll(corpus.labels(Split.TRAIN, null));
        heldOut = o.evalEvery() > 0 ? new TrainData(corpus, Split.TEST, tok, model.config, Math.max(1, sentinels), o.seed()) : null;
        if (ckpt.isPresent()) resumeFrom(ckpt.get(), d.trainer());
        else {
            if (cluster.leader()) Files.deleteIfExists(metricsFile());
            if (o.from() != null && o.lora() == null) {                 // full fine-tuning: the base's weights, a fresh optimizer
                Checkpoint.loadModel(Checkpoint.resolve(o.from()), model);
                log.println("m6j: fine-tuning all weights of " + Checkpoint.resolve(o.from()));
            }
        }
        ImageCodeData.attach(data, tok, o.runDir(), corpus.dir(), log);       // t2i: when the run has a VQGAN
        for (Objective ob : o.mixture().keySet())
            if (o.mixture().get(ob) > 0 && !data.has(ob))
                throw new IllegalArgumentException("the corpus has no examples for objective " + ob.id());
        schedule = new LrSchedule(o.lr(), o.minLr(), o.warmup(), o.steps());
        long[] counts = model.config.parameterCounts();
        log.printf("m6j: model %s: %,d parameters (%,d active per token), vocab %d; %,d image-text and %,d text examples%n",
                model.config.name(), counts[0], counts[1], tok.vocabSize(), data.imageTextCount(), data.textCount());
        if (state.adapter() != null)
            log.printf("m6j: LoRA rank %d (alpha %.0f, dropout %.2f) on %s: %,d trainable parameters (%.2f%% of the model)%n",
                    o.lora().rank(), o.lora().alpha(), o.lora().dropout(), o.lora().targets(), state.adapter().count(),
                    100.0 * state.adapter().count() / model.params.count());
    }

    /** A new run's tokenizer (the leader trains it, the others read it) and the preset sized to its vocabulary. */
    private Checkpoint.Description newRun(Corpus corpus, M6Config preset) throws IOException {
        Path tokFile = o.runDir().resolve("tokenizer.json");
        if (cluster.leader()) tokenizer(corpus, preset.vocabSize(), o.sentinels(), tokFile, log);
        cluster.barrier();
        Tokenizer t = Tokenizer.load(tokFile);
        return new Checkpoint.Description(preset.withVocab(t.vocabSize() + ImageVocab.extraTokens(o.runDir())), t, null);  // + image codes
    }

    /** All in memory, or under a memory budget offloaded as its plan says (when the whole state does not fit). */
    private static TrainState trainState(M6Config cfg, TrainOptions o, Cluster cluster, PrintStream log) throws IOException {
        AdamW.Options opt = AdamW.Options.defaults(o.weightDecay());
        if (o.lora() != null) return AdapterState.create(o.from(), o.lora(), o.seed(), opt, cluster);
        if (o.memoryBudget() > 0) {
            OffloadPlan plan = OffloadPlan.of(cfg, o.memoryBudget());
            log.println(plan.summary());
            if (plan.offloads()) return OffloadedState.create(plan, cfg, o.seed(), opt, o.runDir().resolve("offload"));
        }
        return ResidentState.of(new M6Model(cfg, ScalarType.Float, o.seed(), null, cluster.shard()), opt, cluster);
    }

    /** The checkpoint's tensors into the state, and the step, data position and metrics up to it. */
    private void resumeFrom(Path dir, JsonNode t) throws IOException {
        state.resume(dir, t.path("optimizerStep").asLong());
        step = t.path("step").asInt();
        Map<Objective, Long> pos = new EnumMap<>(Objective.class);
        t.path("position").fields().forEachRemaining(e -> pos.put(Objective.parse(e.getKey()), e.getValue().asLong()));
        data.seek(pos);
        if (cluster.leader()) readHistory();
        log.printf("m6j: resumed %s at step %d%n", dir, step);
    }

    /** Where the weights, gradients and optimizer moments live (resident or offloaded). */
    public TrainState state() { return state; }

    /** Loads RUN/tokenizer.json, or trains one on the corpus's train texts and saves it there. */
    public static Tokenizer tokenizer(Corpus corpus, int vocab, int sentinels, Path file, PrintStream log) throws IOException {
        if (Files.isRegularFile(file)) return Tokenizer.load(file);
        long t0 = System.nanoTime();
        List<String> texts = new ArrayList<>();
        for (Example e : corpus.examples(Split.TRAIN)) texts.add(e.text());
        Tokenizer tok = Tokenizer.train(texts, vocab, Tokenizer.defaultSpecials(sentinels));
        tok.save(file);
        log.printf("m6j: trained a %d-token BPE tokenizer on %,d texts in %.1f s -> %s%n",
                tok.vocabSize(), texts.size(), (System.nanoTime() - t0) / 1e9, file);
        return tok;
    }

    /** Activation checkpointing (recompute in backward) for these block indices. */
    public Trainer checkpointLayers(Set<Integer> layers) {
        for (int l : layers) if (l < 0 || l >= model.config.nLayers())
            throw new IllegalArgumentException("--checkpoint-layers: no block " + l + " (0.." + (model.config.nLayers() - 1) + ")");
        checkpointLayers = Set.copyOf(layers);
        return this;
    }

    /** Stops (with a checkpoint) once this much wall time has passed in run(); for equal-time comparisons. */
    public Trainer maxSeconds(double s) {
        if (!(s > 0)) throw new IllegalArgumentException("--max-seconds must be > 0");
        maxSeconds = s;
        return this;
    }

    public M6Model model() { return model; }

    public Tokenizer tokenizer() { return tok; }

    public List<StepRecord> history() { return history; }

    public int step() { return step; }

    public Path lastCheckpoint() { return lastCheckpoint; }

    /**
     * Trains until step == until (at most o.steps()), checkpointing every checkpointEvery steps and at the end
     * (checkpointEvery -1: never, not even at the end; a benchmark's state may not fit on the disk twice).
     */
    public void run(int until) throws IOException {
        until = Math.min(until, o.steps());
        if (step >= until) return;
        long started = System.nanoTime();
        try (ProgressBar pb = new ProgressBarBuilder().setTaskName("train").setInitialMax(o.steps())
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(1000).showSpeed()
                .setConsumer(cluster.leader() ? new ConsoleProgressBarConsumer(System.err, 110) : new DelegatingProgressBarConsumer(s -> {})).startsFrom(step, Duration.ZERO).build();
             BufferedWriter metrics = cluster.leader()
                     ? Files.newBufferedWriter(metricsFile(), StandardOpenOption.CREATE, StandardOpenOption.APPEND)
                     : new BufferedWriter(Writer.nullWriter())) {
            while (step < until) {
                StepRecord r = trainStep();
                history.add(r);
                metrics.write(Json.MAPPER.writeValueAsString(r));
                metrics.newLine();
                step++;
                pb.stepTo(step);
                pb.setExtraMessage(String.format("loss %.3f %s %.0f tok/s", r.loss(), r.objective(), r.tokensPerSecond()));
                boolean last = step == until;
                if (heldOut != null && step % o.evalEvery() == 0 && heldOutStep(metrics) && !last) {
                    log.printf("%nm6j: early stop at step %d: held-out loss %.4f at step %d, not improved in %d evaluations%n",
                            step, bestHeldOut, bestStep, evalsSinceBest);
                    last = true;
                    until = step;
                }
                if (!last && maxSeconds < Double.POSITIVE_INFINITY) {      // every rank votes every step: no rank waits alone
                    boolean over = (System.nanoTime() - started) / 1e9 >= maxSeconds;
                    if (cluster.sum(over ? 1 : 0) > 0) {
                        log.printf("%nm6j: time limit of %.0f s reached at step %d%n", maxSeconds, step);
                        last = true;
                        until = step;
                    }
                }
                if ((o.checkpointEvery() > 0 && step % o.checkpointEvery() == 0) || (last && o.checkpointEvery() >= 0)) {
                    metrics.flush();
                    String check = cluster.verifyReplicas(model);
                    if (!check.isEmpty()) log.println("m6j: step " + step + ": " + check);
                    lastCheckpoint = CheckpointWriter.save(o.runDir(), step, state, tok, trainerState(), o.keepCheckpoints(), cluster);
                    if (cluster.leader()) plot();
                }
            }
        }
    }

    /**
     * One optimizer step: the objective is drawn per step (the same on every rank); this rank runs its accum
     * micro-batches of the step's world*accum, each seeded by (seed, step, micro), so a one-process run with
     * accum = N reproduces an N-process run.
     */
    private StepRecord trainStep() {
        long t0 = System.nanoTime();
        long[] io0 = Memory.ioBytes();
        cluster.beginStep(step);
        Objective ob = pick(Seeds.random(o.seed(), step, -1));
        int micros = o.accum() * cluster.world();
        double loss = 0, aux = 0;
        long tokens = 0;
        try (PointerScope scope = new PointerScope()) {             // frees every temporary of forward/backward
            for (int a = 0; a < o.accum(); a++) {
                int micro = cluster.rank() * o.accum() + a;
                // libtorch's random draws (adapter dropout) seeded per micro-batch: a micro-batch draws the same
                // numbers whichever rank runs it, so N ranks reproduce one process with --accum N.
                torch.manual_seed((o.seed() * 1_000_003L + step) * 1_009L + micro);
                Batch b = data.batch(ob, o.batchSize(), micro, Seeds.random(o.seed(), step, micro));
                ForwardContext ctx = cluster.trainContext().checkpoint(checkpointLayers).store(state.store()).adapter(state.adapter());
                Tensor lossT = Loss.of(model, b, ctx);
                // A batch-wide loss (itc) is the same value on every rank, each differentiating it for its own rows:
                // summed over ranks those gradients are the whole one, so it is divided by accum, not by micros.
                Tensor total = lossT.div(Tensors.scalar(ob.batchWide() ? o.accum() : micros));
                if (ctx.auxLoss() != null) total = total.add(ctx.auxLoss().div(Tensors.scalar(micros)));
                ctx.backward(total);
                loss += lossT.item_double();
                if (ctx.auxLoss() != null) aux += ctx.auxLoss().item_double();
                tokens += b.positions();
            }
        }
        data.advance(ob, (long) micros * o.batchSize());
        // The update runs outside the scope: in-place ops on parameters must not attach them to it.
        double lr = schedule.at(step), norm = state.update(lr, o.clip());
        // Auxiliary-loss-free balancing: the step's routing load over every rank moves each expert's routing bias.
        if (model.balancesRouting()) model.balanceRouting(cluster.sum(model.routingLoad()));
        double[] sums = {cluster.sum(loss) / micros, cluster.sum(aux) / micros, cluster.sum(tokens)};
        double ms = (System.nanoTime() - t0) / 1e6;
        long[] io1 = Memory.ioBytes();
        return new StepRecord(step, ob.id(), sums[0], sums[1], lr, norm, (long) sums[2], ms,
                sums[2] / (ms / 1000), Memory.rss(), io0[0] < 0 ? -1 : io1[0] - io0[0], io0[1] < 0 ? -1 : io1[1] - io0[1]);
    }

    /**
     * The held-out loss on fixed batches of the test split (the mixture's objectives, weighted as the mixture), into
     * heldout.jsonl; true when early stopping says stop. Every rank computes the same value.
     */
    private boolean heldOutStep(BufferedWriter metrics) throws IOException {
        double sum = 0, weights = 0;
        try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
            for (var e : o.mixture().entrySet()) {
                if (e.getValue() <= 0 || !heldOut.has(e.getKey())) continue;
                double loss = 0;
                for (int micro = 0; micro < HELD_OUT_BATCHES; micro++) {
                    Batch b = heldOut.batch(e.getKey(), o.batchSize(), micro, Seeds.random(o.seed(), -7, micro));
                    ForwardContext ctx = new ForwardContext(false, null, cluster.trainContext().exchange).store(state.store()).adapter(state.adapter());
                    loss += Loss.of(model, b, ctx).item_double();
                }
                sum += e.getValue() * loss / HELD_OUT_BATCHES;
                weights += e.getValue();
            }
        }
        if (weights == 0) return false;
        double h = sum / weights;
        if (h < bestHeldOut) { bestHeldOut = h; bestStep = step; evalsSinceBest = 0; } else evalsSinceBest++;
        if (cluster.leader()) {
            metrics.flush();
            Files.writeString(o.runDir().resolve("heldout.jsonl"), Json.MAPPER.createObjectNode().put("step", step).put("loss", h)
                    .put("best", bestHeldOut).put("bestStep", bestStep) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        return o.patience() > 0 && evalsSinceBest >= o.patience();
    }

    /** Test batches per objective in the held-out loss. */
    static final int HELD_OUT_BATCHES = 2;

    private Objective pick(Random rng) {
        double total = 0;
        for (double w : o.mixture().values()) total += w;
        double r = rng.nextDouble() * total;
        Objective last = null;
        for (Objective ob : Objective.values()) {           // fixed order: same choice for the same r
            Double w = o.mixture().get(ob);
            if (w == null || w <= 0) continue;
            last = ob;
            if ((r -= w) < 0) return ob;
        }
        return last;
    }

    private ObjectNode trainerState() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("step", step);
        n.put("seed", o.seed());
        n.put("optimizerStep", state.optimizerStep());
        ObjectNode pos = n.putObject("position");
        data.position().forEach((k, v) -> pos.put(k.id(), v));
        n.set("options", Json.MAPPER.valueToTree(o));
        if (!classLabels.isEmpty()) n.set("labels", Json.MAPPER.valueToTree(classLabels));
        return n;
    }

    private Path metricsFile() { return o.runDir().resolve("metrics.jsonl"); }

    /** On resume: keep the metrics up to the checkpoint's step, drop those of the lost steps after it. */
    private void readHistory() throws IOException {
        if (!Files.isRegularFile(metricsFile())) return;
        List<String> keep = new ArrayList<>();
        for (String line : Files.readAllLines(metricsFile())) {
            if (line.isBlank()) continue;
            try {
                StepRecord r = Json.MAPPER.readValue(line, StepRecord.class);
                if (r.step() < step) { history.add(r); keep.add(line); }
            } catch (IOException e) {
                // a line cut by the interruption: dropped
            }
        }
        Files.write(metricsFile(), keep);
    }

    private void plot() throws IOException {
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        for (StepRecord r : history) series.computeIfAbsent(r.objective(), k -> new ArrayList<>()).add(new double[]{r.step(), r.loss()});
        LossPlot.write(o.runDir().resolve("loss.png"), "m6j " + model.config.name() + " training loss", "step", series);
    }
}
