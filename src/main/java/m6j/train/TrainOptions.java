package m6j.train;

import m6j.task.Objective;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * Everything a training run needs besides the model shape; validated here so the CLI can report bad values.
 * memoryBudget: bytes of training state (weights, gradients, Adam moments) kept in memory; 0 = all of it.
 */
public record TrainOptions(Path corpus, Path runDir, int steps, int batchSize, int accum,
                           double lr, double minLr, int warmup, double weightDecay, double clip,
                           long seed, int checkpointEvery, int keepCheckpoints,
                           Map<Objective, Double> mixture, int sentinels, long memoryBudget) {
    public TrainOptions {
        if (corpus == null || runDir == null) throw new IllegalArgumentException("corpus and run directory are required");
        if (steps < 1) throw new IllegalArgumentException("--steps must be >= 1");
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be >= 1");
        if (accum < 1) throw new IllegalArgumentException("--accum must be >= 1");
        if (lr <= 0 || minLr < 0 || minLr > lr) throw new IllegalArgumentException("need 0 <= --min-lr <= --lr and --lr > 0");
        if (warmup < 0 || clip < 0 || weightDecay < 0) throw new IllegalArgumentException("--warmup, --clip, --weight-decay must be >= 0");
        if (checkpointEvery < 0 || keepCheckpoints < 1) throw new IllegalArgumentException("--checkpoint-every >= 0, keep >= 1");
        if (mixture == null || mixture.isEmpty() || mixture.values().stream().anyMatch(w -> w < 0)
                || mixture.values().stream().mapToDouble(Double::doubleValue).sum() <= 0)
            throw new IllegalArgumentException("--mixture needs non-negative weights with a positive sum");
        mixture = Map.copyOf(mixture);
        if (sentinels < 1) throw new IllegalArgumentException("sentinels must be >= 1");
        if (memoryBudget < 0) throw new IllegalArgumentException("--memory-budget must be >= 0 (0: everything in memory)");
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
