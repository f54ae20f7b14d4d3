package m6j.train;

import m6j.model.Lora;
import m6j.task.Objective;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * Everything a training run needs besides the model shape; validated here so the CLI can report bad values.
 * memoryBudget: bytes of training state (weights, gradients, Adam moments) kept in memory; 0 = all of it.
 * sentinels: the <extra_id_N> tokens the tokenizer reserves for span corruption. Build one with
 * {@link #builder}: its defaults are the train command's (CliTest checks that they agree).
 * from: a checkpoint (or run directory) to start from instead of a new model (fine-tuning; its tokenizer is kept);
 * lora: train low-rank adapters on it, the base frozen (null: train all weights). evalEvery: held-out loss every
 * this many steps (0: never); patience: stop when it has not improved for this many evaluations (0: never stop).
 */
public record TrainOptions(Path corpus, Path runDir, int steps, int batchSize, int accum,
                           double lr, double minLr, int warmup, double weightDecay, double clip,
                           long seed, int checkpointEvery, int keepCheckpoints,
                           Map<Objective, Double> mixture, int sentinels, long memoryBudget, Path from, Lora.Config lora,
                           int evalEvery, int patience) {
    public TrainOptions {
        if (corpus == null || runDir == null) throw new IllegalArgumentException("corpus and run directory are required");
        if (steps < 1) throw new IllegalArgumentException("--steps must be >= 1");
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be >= 1");
        if (accum < 1) throw new IllegalArgumentException("--accum must be >= 1");
        if (lr <= 0 || minLr < 0 || minLr > lr) throw new IllegalArgumentException("need 0 <= --min-lr <= --lr and --lr > 0");
        if (warmup < 0 || clip < 0 || weightDecay < 0) throw new IllegalArgumentException("--warmup, --clip, --weight-decay must be >= 0");
        if (checkpointEvery < -1 || keepCheckpoints < 1) throw new IllegalArgumentException("--checkpoint-every >= -1, keep >= 1");
        if (mixture == null || mixture.isEmpty() || mixture.values().stream().anyMatch(w -> w < 0)
                || mixture.values().stream().mapToDouble(Double::doubleValue).sum() <= 0)
            throw new IllegalArgumentException("--mixture needs non-negative weights with a positive sum");
        mixture = Map.copyOf(mixture);
        if (sentinels < 1) throw new IllegalArgumentException("sentinels must be >= 1");
        if (memoryBudget < 0) throw new IllegalArgumentException("--memory-budget must be >= 0 (0: everything in memory)");
        if (evalEvery < 0 || patience < 0) throw new IllegalArgumentException("--eval-every and --patience must be >= 0");
        if (patience > 0 && evalEvery == 0) throw new IllegalArgumentException("--patience needs --eval-every");
        if (lora != null && from == null) throw new IllegalArgumentException("--lora needs --from (the checkpoint to adapt)");
        if (lora != null && memoryBudget > 0) throw new IllegalArgumentException("--lora with --memory-budget is not supported (adapters are small: train in memory)");
    }

    public static final String DEFAULT_MIXTURE = "itt=0.5,mtt=0.1,denoise=0.15,lm=0.25";
    public static final int DEFAULT_SENTINELS = 16;

    /** Options with the train command's defaults for everything but the corpus and run directory. */
    public static Builder builder(Path corpus, Path runDir) { return new Builder(corpus, runDir); }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(corpus, runDir).steps(steps).batchSize(batchSize).accum(accum).lr(lr).minLr(minLr).warmup(warmup)
                .weightDecay(weightDecay).clip(clip).seed(seed).checkpointEvery(checkpointEvery).keepCheckpoints(keepCheckpoints)
                .mixture(mixture).sentinels(sentinels).memoryBudget(memoryBudget).from(from).lora(lora).evalEvery(evalEvery).patience(patience);
    }

    /** Named setters over the defaults; {@link #build} validates. */
    public static final class Builder {
        private Path corpus, runDir;
        private int steps = 1000, batchSize = 32, accum = 1, warmup = 50, checkpointEvery = 200, keepCheckpoints = 3;
        private double lr = 1e-3, minLr = 1e-4, weightDecay = 0.05, clip = 1.0;
        private long seed = 1234, memoryBudget;
        private Map<Objective, Double> mixture = parseMixture(DEFAULT_MIXTURE);
        private int sentinels = DEFAULT_SENTINELS;
        private Path from;
        private Lora.Config lora;
        private int evalEvery, patience;

        private Builder(Path corpus, Path runDir) { this.corpus = corpus; this.runDir = runDir; }

        public Builder corpus(Path v) { corpus = v; return this; }
        public Builder runDir(Path v) { runDir = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder accum(int v) { accum = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder minLr(double v) { minLr = v; return this; }
        public Builder warmup(int v) { warmup = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder clip(double v) { clip = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder keepCheckpoints(int v) { keepCheckpoints = v; return this; }
        public Builder mixture(Map<Objective, Double> v) { mixture = v; return this; }
        public Builder mixture(String v) { mixture = parseMixture(v); return this; }
        public Builder sentinels(int v) { sentinels = v; return this; }
        public Builder memoryBudget(long v) { memoryBudget = v; return this; }
        public Builder from(Path v) { from = v; return this; }
        public Builder lora(Lora.Config v) { lora = v; return this; }
        public Builder evalEvery(int v) { evalEvery = v; return this; }
        public Builder patience(int v) { patience = v; return this; }

        public TrainOptions build() {
            return new TrainOptions(corpus, runDir, steps, batchSize, accum, lr, minLr, warmup, weightDecay, clip, seed,
                    checkpointEvery, keepCheckpoints, mixture, sentinels, memoryBudget, from, lora, evalEvery, patience);
        }
    }

    /** "itt=0.5,lm=0.3" -> weights. */
    public static Map<Objective, Double> parseMixture(String s) {
        Map<Objective, Double> m = new EnumMap<>(Objective.class);
        for (String part : s.split(",")) {
            String[] kv = part.split("=");
            if (kv.length != 2) throw new IllegalArgumentException("bad --mixture entry '" + part + "' (want task=weight)");
            try {
                m.put(Objective.parse(kv[0]), Double.parseDouble(kv[1].trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad weight in --mixture entry '" + part + "'");
            }
        }
        return m;
    }
}
