package m6j.parallel;

/** Time and bytes spent in collectives, for bench parallel and the step log. */
public final class CommStats {
    public long allreduceNanos, alltoallNanos, allreduceBytes, alltoallBytes, alltoallCalls;

    void alltoall(long nanos, long bytes) { alltoallNanos += nanos; alltoallBytes += bytes; alltoallCalls++; }

    void allreduce(long nanos, long bytes) { allreduceNanos += nanos; allreduceBytes += bytes; }

    public double allreduceMs() { return allreduceNanos / 1e6; }

    public double alltoallMs() { return alltoallNanos / 1e6; }

    public long allreduceBytes() { return allreduceBytes; }

    public long alltoallBytes() { return alltoallBytes; }

    public long alltoallCalls() { return alltoallCalls; }

    public void reset() { allreduceNanos = alltoallNanos = allreduceBytes = alltoallBytes = alltoallCalls = 0; }
}
