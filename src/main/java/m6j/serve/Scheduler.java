package m6j.serve;

import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.KvCache;
import m6j.model.M6Model;
import m6j.model.PrefixMask;
import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import m6j.task.Batch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Continuous batching on one worker thread that owns the model. Waiting sequences are admitted into free
 * slots of a KV-cache pool (each prefilled alone: prefixes differ in length and images), then every active
 * sequence advances by one token in a single batched decode step; finished, cancelled and timed-out sequences
 * leave and free their slot at once. Other model work (embeddings) runs between steps through {@link #call}.
 * Each step's native temporaries live in a PointerScope of their own.
 */
public final class Scheduler implements AutoCloseable {
    public record Options(int maxBatch, int maxQueue, long timeoutMs) {
        public Options {
            if (maxBatch < 1 || maxBatch > 256) throw new IllegalArgumentException("--max-batch must be in 1..256");
            if (maxQueue < 1) throw new IllegalArgumentException("--max-queue must be >= 1");
            if (timeoutMs < 1) throw new IllegalArgumentException("--timeout must be > 0");
        }
    }

    private final M6Model model;
    private final Tokenizer tok;
    private final Options opt;
    private final Metrics metrics;
    private final int eos, vocab;
    private final ArrayBlockingQueue<Sequence> pending;
    private final LinkedBlockingQueue<FutureTask<?>> tasks = new LinkedBlockingQueue<>();
    private final List<Sequence> active = new ArrayList<>();
    private final boolean[] used;
    private final Object wake = new Object();
    private final Thread worker;
    private volatile boolean running = true;
    private KvCache pool;
    /** Admit waiting sequences at least every this many decode steps (sooner when a quarter batch waits). */
    static final int ADMIT_EVERY = 4;
    private int stepsSinceAdmit;

    public Scheduler(M6Model model, Tokenizer tok, Options opt, Metrics metrics) {
        this.model = model;
        this.tok = tok;
        this.opt = opt;
        this.metrics = metrics;
        this.eos = tok.id(Tokenizer.EOS);
        this.vocab = Math.min(model.config.vocabSize(), tok.vocabSize());   // text only: a t2i run's image codes are never chosen
        this.pending = new ArrayBlockingQueue<>(opt.maxQueue());
        this.used = new boolean[opt.maxBatch()];
        metrics.gauge("m6j_queue_depth", "Generation sequences waiting for a batch slot.", pending::size);
        metrics.gauge("m6j_active_sequences", "Generation sequences in the running batch.", () -> active.size());
        worker = new Thread(this::loop, "m6j-scheduler");
        worker.setDaemon(true);
        worker.start();
    }

    public Options options() { return opt; }

    /** Queues all sequences of one request, or none (429 when the queue cannot take them all). */
    public void submit(List<Sequence> seqs) {
        synchronized (pending) {
            if (pending.remainingCapacity() < seqs.size()) throw ApiError.busy(1 + pending.size() / Math.max(1, opt.maxBatch()));
            pending.addAll(seqs);
        }
        signal();
    }

    /** Runs model work on the scheduler thread between decode steps (inside a PointerScope and NoGradGuard). */
    public <T> T call(Callable<T> work) throws Exception { return call(work, () -> false); }

    /** As {@link #call(Callable)}; work not yet started is dropped when abandoned() turns true (its client went away). */
    <T> T call(Callable<T> work, BooleanSupplier abandoned) throws Exception {
        FutureTask<T> f = new FutureTask<>(work);
        tasks.add(f);
        signal();
        long deadline = System.nanoTime() + opt.timeoutMs() * 1_000_000L;
        try {
            while (true) {
                try {
                    return f.get(Math.min(ClientConnection.POLL_MS, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    if (System.nanoTime() > deadline) throw ApiError.timeout(opt.timeoutMs());
                    if (abandoned.getAsBoolean()) {
                        if (f.cancel(false)) metrics.cancelled(1);
                        throw new ClientConnection.Gone();
                    }
                }
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) throw ex;
            throw e;
        } finally {
            f.cancel(false);                        // no-op once done; a queued task never runs
        }
    }

    private void signal() {
        synchronized (wake) { wake.notifyAll(); }
    }

    private void loop() {
        try (NoGradGuard ng = new NoGradGuard()) {
            pool = model.newCache(opt.maxBatch(), model.config.patches() + model.config.maxTextLen());
            while (running) {
                FutureTask<?> t;
                while ((t = tasks.poll()) != null) try (PointerScope s = new PointerScope()) { t.run(); }
                admit();
                if (!active.isEmpty()) step();
                else synchronized (wake) {
                    if (running && pending.isEmpty() && tasks.isEmpty()) wake.wait(50);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            // The model thread died: fail everything so no client waits forever.
            ApiError err = ApiError.internal("scheduler stopped: " + e);
            for (Sequence s : active) s.events.add(new Event.Failed(s.index, err));
            Sequence s;
            while ((s = pending.poll()) != null) s.events.add(new Event.Failed(s.index, err));
            running = false;
            e.printStackTrace();
        } finally {
            for (Sequence s : active) release(s);
            active.clear();
            if (pool != null) pool.close();
        }
    }

    private void admit() {
        // While a batch is running, let arrivals gather for a few steps so that one batched prefill serves several.
        if (!active.isEmpty() && pending.size() < Math.max(1, opt.maxBatch() / 4) && ++stepsSinceAdmit < ADMIT_EVERY) return;
        stepsSinceAdmit = 0;
        List<Sequence> admitted = new ArrayList<>();
        Sequence s;
        while (active.size() + admitted.size() < opt.maxBatch() && (s = pending.poll()) != null) {
            if (s.cancelled()) { metrics.cancelled(1); continue; }
            if (System.nanoTime() > s.deadlineNanos) { s.events.add(new Event.Failed(s.index, ApiError.timeout(s.timeoutMs))); continue; }
            int slot = 0;
            while (used[slot]) slot++;
            used[slot] = true;
            s.slot = slot;
            s.cache = pool.slot(slot);                       // a view: made outside the step's PointerScope
            s.rng = new Random(s.sampling.seed());
            admitted.add(s);
        }
        if (admitted.isEmpty()) return;
        // one padded forward for the text-only sequences, one for those with an image
        for (boolean withImage : new boolean[]{false, true}) {
            List<Sequence> group = admitted.stream().filter(q -> (q.image != null) == withImage).toList();
            if (group.isEmpty()) continue;
            try (PointerScope scope = new PointerScope()) {
                prefill(group, withImage);
            } catch (RuntimeException e) {
                for (Sequence q : group) {
                    q.events.add(new Event.Failed(q.index, e instanceof IllegalArgumentException
                            ? ApiError.invalid(null, e.getMessage()) : ApiError.internal("prefill failed: " + e.getMessage())));
                    release(q);
                }
                continue;
            }
            for (Sequence q : group) {
                if (accept(q, q.last())) finish(q);
                else active.add(q);
            }
        }
    }

    /**
     * Prefills several sequences in one forward: rows padded to the longest prefix, each row's prefix read
     * bidirectionally over its own length only (pads stay out), then each row's first len positions are copied
     * into its slot and its first token chosen from the logits at its last prefix position.
     */
    private void prefill(List<Sequence> group, boolean withImage) {
        int b = group.size(), t = group.stream().mapToInt(q -> q.prefix.length).max().orElseThrow();
        int p = withImage ? model.config.patches() : 0;
        long[] ids = new long[b * t];
        int[] len = new int[b];
        List<byte[]> images = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            Sequence q = group.get(i);
            for (int j = 0; j < q.prefix.length; j++) ids[i * t + j] = q.prefix[j];
            len[i] = p + q.prefix.length;
            if (withImage) images.add(q.image);
        }
        Tensor img = withImage ? Batch.images(images, model.config.imageSize(), model.config.channels()) : null;
        try (KvCache tmp = model.newCache(b, p + t)) {
            Tensor h = model.forward(img, Tensors.longs(ids, b, t), 0, PrefixMask.of(len, p + t, 0), tmp, ForwardContext.serving());
            long[] last = new long[b];
            for (int i = 0; i < b; i++) last[i] = (long) i * (p + t) + len[i] - 1;
            Tensor rows = h.reshape(b * (long) (p + t), model.config.dModel()).index_select(0, Devices.like(h, Tensors.longs(last, b)));
            Sampler.Choice c = Sampler.probabilities(model.logits(rows).narrow(1, 0, vocab), group);
            for (int i = 0; i < b; i++) {
                Sequence q = group.get(i);
                q.cache.loadRow(tmp, i, len[i]);
                q.add(Sampler.choose(c, i, q, vocab));
                metrics.promptTokens(len[i]);
            }
        }
    }

    private void step() {
        List<Sequence> rows = new ArrayList<>(active.size());
        for (Sequence s : active) {
            if (s.cancelled()) { metrics.cancelled(1); finish(s); continue; }
            if (System.nanoTime() > s.deadlineNanos) { s.events.add(new Event.Failed(s.index, ApiError.timeout(s.timeoutMs))); finish(s); continue; }
            rows.add(s);
        }
        active.removeIf(s -> s.slot < 0);
        if (rows.isEmpty()) return;
        int b = rows.size();
        long[] tokens = new long[b];
        int[] pos = new int[b];
        KvCache[] caches = new KvCache[b];
        for (int i = 0; i < b; i++) {
            Sequence s = rows.get(i);
            tokens[i] = s.last();
            pos[i] = s.prefix.length + s.count - 1;
            caches[i] = s.cache;
        }
        long t0 = System.nanoTime();
        Sampler.Choice c;
        try (PointerScope scope = new PointerScope()) {
            c = Sampler.probabilities(model.logits(model.decode(tokens, pos, caches, ForwardContext.serving()))
                    .reshape(b, model.config.vocabSize()).narrow(1, 0, vocab), rows);
        }
        metrics.decodeStep(b, System.nanoTime() - t0);
        for (int i = 0; i < b; i++) {
            Sequence s = rows.get(i);
            s.add(Sampler.choose(c, i, s, vocab));
            if (accept(s, s.last())) finish(s);
        }
        active.removeIf(s -> s.slot < 0);
    }

    /** Emits the newest token; true when the sequence is complete. */
    private boolean accept(Sequence s, int id) {
        metrics.generatedTokens(1);
        if (id == eos) { s.count--; return done(s, "stop"); }
        String full = s.streaming ? tok.decode(s.ids()) : "";
        if (s.streaming && !full.endsWith("\uFFFD") && full.startsWith(s.emitted) && full.length() > s.emitted.length()) {
            s.events.add(new Event.Token(s.index, full.substring(s.emitted.length())));
            s.emitted = full;
        }
        if (s.count >= s.maxNew || s.prefix.length + s.count >= model.config.maxTextLen()) return done(s, "length");
        return false;
    }

    private boolean done(Sequence s, String finish) {
        String full = tok.decode(s.ids());
        if (s.streaming && full.length() > s.emitted.length() && full.startsWith(s.emitted))
            s.events.add(new Event.Token(s.index, full.substring(s.emitted.length())));
        s.events.add(new Event.Done(s.index, finish, s.prefix.length + (s.image == null ? 0 : model.config.patches()), s.count, full));
        return true;
    }

    private void finish(Sequence s) { release(s); }

    private void release(Sequence s) {
        if (s.slot >= 0) {
            used[s.slot] = false;
            s.slot = -1;
        }
        if (s.cache != null) { s.cache.close(); s.cache = null; }
    }

    @Override public void close() throws InterruptedException {
        running = false;
        signal();
        worker.join(10_000);
    }
}
