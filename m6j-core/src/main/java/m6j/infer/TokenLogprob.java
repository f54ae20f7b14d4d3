package m6j.infer;

/**
 * A generated token's log-probability under the model (before temperature and any grammar mask), and the most
 * likely tokens at that position with theirs (most likely first; empty unless asked for).
 */
public record TokenLogprob(int id, float logprob, int[] topIds, float[] topLogprobs) {}
