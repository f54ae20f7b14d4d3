package m6j.train;

/**
 * One optimizer step as written to metrics.jsonl. readBytes and writeBytes: storage I/O the kernel did for this
 * process during the step (Memory.ioBytes; -1 unknown, 0 in records from before they were kept).
 */
public record StepRecord(int step, String objective, double loss, double aux, double lr, double gradNorm,
                         long tokens, double ms, double tokensPerSecond, long rssBytes, long readBytes, long writeBytes) {}
