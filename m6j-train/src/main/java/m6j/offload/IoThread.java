package m6j.offload;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The one thread all tensor work on offloaded state runs on (outside any PointerScope; docs/ENGINE.md on scopes),
 * in the order it was queued, and the time the training thread spent waiting for it. It runs what it is given and
 * touches no state of its own beyond the last queued write-back.
 */
final class IoThread {
    private final ExecutorService exec;
    private Future<?> pending;
    private long waitNs;

    IoThread() { this("m6j-offload-io"); }

    /** A second such thread under its own name (the streaming optimizer's reader). */
    IoThread(String name) {
        exec = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Queues c (a prefetch): its result is there to get later. */
    <T> Future<T> submit(Callable<T> c) { return exec.submit(c); }

    /** Queues c without waiting (a write-back); sync() waits for it, and so for everything queued before it. */
    void later(Callable<?> c) { pending = exec.submit(c); }

    /** Waits for the last write-back queued by later() and rethrows its failure. */
    void sync() {
        if (pending != null) {
            Future<?> f = pending;
            pending = null;
            call(f::get);                           // done by now (queued earlier); rethrows its failure
        }
    }

    /** Runs c on the I/O thread and waits for its result; the wait counts in seconds(). */
    <T> T call(Callable<T> c) {
        long t0 = System.nanoTime();
        try {
            return exec.submit(c).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for offload I/O", e);
        } catch (ExecutionException e) {
            Throwable c2 = e.getCause();
            while (c2 instanceof ExecutionException && c2.getCause() != null) c2 = c2.getCause();
            if (c2 instanceof RuntimeException r) throw r;
            throw new IllegalStateException("offload I/O failed: " + c2, c2);
        } finally {
            waitNs += System.nanoTime() - t0;
        }
    }

    /** Seconds the training thread waited for offload work (loads, write-backs, the streaming update). */
    double waitSeconds() { return waitNs / 1e9; }
}
