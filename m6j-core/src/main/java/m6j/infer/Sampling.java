package m6j.infer;

/** Decoding settings: temperature 0 means greedy; topK 0 and topP 1 switch those filters off. */
public record Sampling(double temperature, int topK, double topP, long seed) {
    public Sampling {
        if (temperature < 0) throw new IllegalArgumentException("--temperature must be >= 0");
        if (topK < 0) throw new IllegalArgumentException("--top-k must be >= 0");
        if (topP <= 0 || topP > 1) throw new IllegalArgumentException("--top-p must be in (0, 1]");
    }

    public static Sampling greedy() { return new Sampling(0, 0, 1, 0); }

    public boolean isGreedy() { return temperature == 0; }
}
