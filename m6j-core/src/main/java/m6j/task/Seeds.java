package m6j.task;

import java.util.Random;

/**
 * Well-mixed seeds for per-step randomness. Random's first draws are correlated for nearby seeds
 * (seed, seed+1, ...), so step-indexed seeds go through SplitMix64 first.
 */
public final class Seeds {
    private Seeds() {}

    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    public static Random random(long... parts) {
        long h = 0x9E3779B97F4A7C15L;
        for (long p : parts) h = mix(h + p);
        return new Random(h);
    }
}
