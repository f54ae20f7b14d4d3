package m6j.model;

/**
 * Sparse-expert settings for the FFN of every {@code every}-th block (0 = all dense).
 * Routing is top-k over all experts, or "k top-1" (M6-T expert prototyping) when prototypes > 1:
 * experts split into {@code prototypes} groups, top-1 in each, so k = prototypes.
 * Capacity per expert = max(minCapacity, ceil(k * tokens / experts * capacityFactor)).
 */
public record MoeConfig(int experts, int every, int topK, int prototypes,
                        double capacityFactorTrain, double capacityFactorEval, int minCapacity,
                        boolean dropTokens, double auxLossWeight, double zLossWeight) {
    public MoeConfig {
        if (experts < 0) throw new IllegalArgumentException("experts must be >= 0");
        if (experts > 0) {
            if (every < 1) throw new IllegalArgumentException("moe.every must be >= 1 when experts > 0");
            if (prototypes < 1) throw new IllegalArgumentException("moe.prototypes must be >= 1");
            if (experts % prototypes != 0) throw new IllegalArgumentException("experts must divide into prototypes");
            if (prototypes == 1 && (topK < 1 || topK > experts)) throw new IllegalArgumentException("moe.topK must be in 1..experts");
            if (capacityFactorTrain <= 0 || capacityFactorEval <= 0) throw new IllegalArgumentException("capacity factors must be > 0");
            if (minCapacity < 1) throw new IllegalArgumentException("minCapacity must be >= 1");
        }
    }

    public static MoeConfig dense() { return new MoeConfig(0, 0, 1, 1, 1.25, 2.0, 4, true, 0, 0); }

    public boolean enabled() { return experts > 0; }

    /** Experts chosen per token. */
    public int k() { return prototypes > 1 ? prototypes : topK; }

    public boolean isMoeLayer(int layer) { return enabled() && (layer % every) == every - 1; }

    public int capacity(long tokens, boolean training) {
        double cf = training ? capacityFactorTrain : capacityFactorEval;
        return (int) Math.max(minCapacity, Math.ceil(k() * (double) tokens / experts * cf));
    }
}
