package m6j.serve;

import m6j.infer.Sampling;
import m6j.model.KvCache;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.BlockingQueue;

/**
 * One generation in the scheduler: the prefix ([image][BOS text...]), its limits, and where its events go.
 * The fields below "worker state" belong to the scheduler thread only.
 */
public final class Sequence {
    final int index;
    final int[] prefix;
    /** RGB bytes of the model's image size, or null. */
    final byte[] image;
    final int maxNew;
    final Sampling sampling;
    final long deadlineNanos, timeoutMs;
    final BlockingQueue<Event> events;
    private volatile boolean cancelled;
    /** Token events only for streaming requests; others get just Done (fewer thread wake-ups per step). */
    boolean streaming = true;

    // worker state
    KvCache cache;
    int slot = -1;
    Random rng;
    int[] generated = new int[8];
    int count;
    String emitted = "";

    public Sequence(int index, int[] prefix, byte[] image, int maxNew, Sampling sampling, long timeoutMs, BlockingQueue<Event> events) {
        if (prefix.length == 0) throw new IllegalArgumentException("empty prefix");
        if (maxNew < 1) throw new IllegalArgumentException("maxNew must be >= 1");
        this.index = index;
        this.prefix = prefix;
        this.image = image;
        this.maxNew = maxNew;
        this.sampling = sampling;
        this.timeoutMs = timeoutMs;
        this.deadlineNanos = System.nanoTime() + timeoutMs * 1_000_000L;
        this.events = events;
    }

    /** Ask the scheduler to drop this sequence at its next step (client gone, another choice failed). */
    public void cancel() { cancelled = true; }

    public boolean cancelled() { return cancelled; }

    /** No Token events: the request wants the whole text at the end. Call before submitting. */
    public Sequence quiet() {
        streaming = false;
        return this;
    }

    void add(int id) {
        if (count == generated.length) generated = Arrays.copyOf(generated, count * 2);
        generated[count++] = id;
    }

    int last() { return generated[count - 1]; }

    int[] ids() { return Arrays.copyOf(generated, count); }
}
