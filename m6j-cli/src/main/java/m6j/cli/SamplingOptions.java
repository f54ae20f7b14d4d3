package m6j.cli;

import m6j.infer.Sampling;
import picocli.CommandLine.Option;

/** Decoding options shared by caption and generate. */
public final class SamplingOptions {
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default), else sample at this temperature.")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens (0 = all).")
    int topK;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass (1 = off).")
    double topP;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed.")
    long seed;

    Sampling sampling() { return new Sampling(temperature, topK, topP, seed); }
}
