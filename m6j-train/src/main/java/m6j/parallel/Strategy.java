package m6j.parallel;

/**
 * Whale-style layout of world = dp x ep ranks: rank = dpIndex * ep + epIndex. Ranks of one expert-parallel
 * group (same dpIndex) split every MoE layer's experts; ranks with the same epIndex replicate that shard.
 * Dense parameters are replicated on all ranks.
 */
public record Strategy(int dp, int ep) {
    public Strategy {
        if (dp < 1 || ep < 1) throw new IllegalArgumentException("--dp and --ep must be >= 1");
    }

    public static Strategy of(int world, Integer dp, Integer ep) {
        int e = ep == null ? 1 : ep;
        int d = dp == null ? world / Math.max(1, e) : dp;
        if (d * e != world) throw new IllegalArgumentException("--dp " + d + " x --ep " + e + " must equal the world size " + world);
        return new Strategy(d, e);
    }

    public int world() { return dp * ep; }

    public int epIndex(int rank) { return rank % ep; }

    public int dpIndex(int rank) { return rank / ep; }
}
