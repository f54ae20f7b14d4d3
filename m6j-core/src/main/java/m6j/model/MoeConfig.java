package m6j.model;

/**
 * Sparse-expert settings for the FFN of every {@code every}-th block (0 = all dense).
 * Routing is top-k over all experts, or "k top-1" (M6-T expert prototyping) when prototypes > 1:
 * experts split into {@code prototypes} groups, top-1 in each, so k = prototypes.
 * Capacity per expert = max(minCapacity, ceil(k * tokens / experts * capacityFactor)).
 * <p>
 * sharedExperts: always-on experts beside the routed ones (DeepSeekMoE), run as one dense FFN of
 * sharedExperts x dFF width whose output is added to the routed experts'. biasUpdateRate: auxiliary-loss-free
 * balancing (DeepSeek-V3): a per-expert bias added to the routing scores for choosing experts only (the gates stay
 * the router's probabilities), moved by this rate after every optimizer step against the step's load (down for an
 * expert above the mean, up below it); 0 = off. dropless: no capacity at all, in training too: assignments sorted
 * by expert and each expert's contiguous rows multiplied as they are, no padding and no dropped tokens. Fields
 * absent from an older config.json read as 0 / false: the model it describes.
 */
public record MoeConfig(int experts, int every, int topK, int prototypes,
                        double capacityFactorTrain, double capacityFactorEval, int minCapacity,
                        boolean dropTokens, double auxLossWeight, double zLossWeight,
                        int sharedExperts, double biasUpdateRate, boolean dropless) {
    public MoeConfig {
        if (experts < 0) throw new IllegalArgumentException("experts must be >= 0");
        if (experts > 0) {
            if (every < 1) throw new IllegalArgumentException("moe.every must be >= 1 when experts > 0");
            if (prototypes < 1) throw new IllegalArgumentException("moe.prototypes must be >= 1");
            if (experts % prototypes != 0) throw new IllegalArgumentException("experts must divide into prototypes");
            if (prototypes == 1 && (topK < 1 || topK > experts)) throw new IllegalArgumentException("moe.topK must be in 1..experts");
            if (capacityFactorTrain <= 0 || capacityFactorEval <= 0) throw new IllegalArgumentException("capacity factors must be > 0");
            if (minCapacity < 1) throw new IllegalArgumentException("minCapacity must be >= 1");
            if (sharedExperts < 0) throw new IllegalArgumentException("moe.sharedExperts must be >= 0");
            if (!(biasUpdateRate >= 0 && biasUpdateRate < 1)) throw new IllegalArgumentException("moe.biasUpdateRate must be in [0, 1)");
        }
    }

    public static MoeConfig dense() { return new MoeConfig(0, 0, 1, 1, 1.25, 2.0, 4, true, 0, 0, 0, 0, false); }

    /** This config with always-on shared experts, bias balancing (rate; 0 = off) and dropless routing set. */
    public MoeConfig with(int shared, double biasRate, boolean noCapacity) {
        return new MoeConfig(experts, every, topK, prototypes, capacityFactorTrain, capacityFactorEval, minCapacity,
                dropTokens, auxLossWeight, zLossWeight, shared, biasRate, noCapacity);
    }

    public boolean enabled() { return experts > 0; }

    /** Experts chosen per token. */
    public int k() { return prototypes > 1 ? prototypes : topK; }

    public boolean isMoeLayer(int layer) { return enabled() && (layer % every) == every - 1; }

    public int capacity(long tokens, boolean training) {
        double cf = training ? capacityFactorTrain : capacityFactorEval;
        return (int) Math.max(minCapacity, Math.ceil(k() * (double) tokens / experts * cf));
    }
}
