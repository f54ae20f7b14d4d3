package m6j.train;

/** One optimizer step as written to metrics.jsonl. */
public record StepRecord(int step, String objective, double loss, double aux, double lr, double gradNorm,
                         long tokens, double ms, double tokensPerSecond, long rssBytes) {}
