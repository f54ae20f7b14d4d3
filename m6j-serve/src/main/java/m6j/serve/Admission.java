package m6j.serve;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The heap a server lets requests hold at once: each request reserves its body's bytes before reading it and an
 * estimate of its parsed JSON tree after parsing, and gives both back when it ends. A request that cannot reserve
 * within {@link #WAIT_MS} is refused with 503 and Retry-After; the heap cannot be exhausted by many large or
 * amplifying requests at once, whatever their number.
 */
final class Admission {
    /** Heap bytes a parsed JSON token costs at most (an empty object node with its map: about 80). */
    static final int TREE_BYTES_PER_TOKEN = 96;
    static final long WAIT_MS = 5_000;
    private final Semaphore kib;
    private final int capacityKib;

    Admission(long bytes) {
        capacityKib = (int) Math.max(1024, Math.min(Integer.MAX_VALUE, bytes >> 10));
        kib = new Semaphore(capacityKib);
    }

    /** A quarter of the heap: the model's tensors are native memory, the heap holds requests and their replies. */
    static Admission forHeap() { return new Admission(Runtime.getRuntime().maxMemory() / 4); }

    long capacityBytes() { return (long) capacityKib << 10; }

    long availableBytes() { return (long) kib.availablePermits() << 10; }

    /** Reserves bytes (rounded up to KiB) and returns the KiB to give back, or throws 503 when the budget stays full. */
    int reserve(long bytes) {
        int n = (int) Math.min(capacityKib, (bytes + 1023) >> 10);
        if (n <= 0) return 0;
        boolean ok;
        try {
            ok = kib.tryAcquire(n, WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ok = false;
        }
        if (!ok) throw new ApiError(503, "server_error", "server_busy", null,
                "The server is holding as many request bodies as its memory allows; retry shortly.", 1);
        return n;
    }

    void release(int n) { if (n > 0) kib.release(n); }
}
