package m6j.infer;

import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.KvCache;
import m6j.model.Lora;
import m6j.model.M6Model;
import m6j.model.PrefixMask;
import m6j.model.RoutingStats;
import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import m6j.task.Batch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The one generation engine: continuous batching on one thread that owns the model. Waiting requests are admitted
 * into free slots of a KV-cache pool (a batched, padded prefill per kind: text-only prefixes, prefixes with an
 * image), then every running request, text or image codes, advances by one token in a single batched decode step
 * (so an image being drawn never stalls a text stream; requests for different adapters of the model decode in one
 * sub-batch per adapter); finished, cancelled and timed-out requests leave and free
 * their slots at once. Decoding never drops MoE tokens ({@link ForwardContext#serving}), so a request's output does
 * not depend on what shares its batch. Other model work (embeddings, search, images' encoders)
 * runs between steps through {@link #call}, one task per decode step while sequences run, from a queue as bounded as
 * the requests' (BUSY when full).
 * The CLI (generate, caption, imagine, eval), the benchmarks and the server all decode through here.
 */
public final class Engine implements AutoCloseable {
    public record Options(int maxBatch, int maxQueue, long timeoutMs) {
        public Options {
            if (maxBatch < 1 || maxBatch > 256) throw new IllegalArgumentException("--max-batch must be in 1..256");
            if (maxQueue < 1) throw new IllegalArgumentException("--max-queue must be >= 1");
            if (timeoutMs < 1) throw new IllegalArgumentException("--timeout must be > 0");
        }

        /** For one process's own work (CLI, evaluation): a wide batch, a queue that takes everything, no time limit. */
        public static Options local() { return new Options(128, 1 << 20, Long.MAX_VALUE / 2_000_000); }
    }

    /** What the engine reports as it runs (the server's metrics); all no-ops by default. */
    public interface Stats {
        Stats NONE = new Stats() {};

        default void promptTokens(int n) {}

        default void generatedTokens(int n) {}

        default void decodeStep(int batchSize, long nanos) {}

        /** Constrained decoding's share of a decode step: masks built and grammar states moved for rows with a grammar. */
        default void grammar(int rows, long nanos) {}

        default void cancelled(int n) {}

        /** A generation left the queue for its KV slots, this long after it was submitted. */
        default void queued(long nanos) {}

        /** A generation's first token, this long after it was submitted. */
        default void firstToken(long nanos) {}

        /** A generation's next token, this long after its previous one. */
        default void interToken(long nanos) {}

        /**
         * A generation ended, this long after it was submitted: finish "stop" or "length" (done), "cancelled" (its
         * caller went away), "timeout" (past its deadline) or "error" (its batch failed or the engine stopped).
         */
        default void finished(String finish, long nanos) {}
    }

    /** Admit waiting requests at least every this many decode steps (sooner when a quarter batch waits). */
    static final int ADMIT_EVERY = 4;
    /** How often a waiting caller looks at whether it was abandoned. */
    public static final long POLL_MS = 100;

    private final M6Model model;
    private final Tokenizer tok;
    private final Options opt;
    private final Stats stats;
    private final RoutingStats routing;
    private final int eos, textVocab, codeOffset, codebook;
    private TokenMask mask;           // built at the first constrained request (engine thread)
    private final ArrayBlockingQueue<Request> pending;
    private final LinkedBlockingQueue<FutureTask<?>> tasks;
    private final List<Request> active = new ArrayList<>();
    private final boolean[] used;
    private final Object wake = new Object();
    private final Thread worker;
    private volatile boolean running = true;
    private volatile String failure;
    private KvCache pool;
    private int stepsSinceAdmit;
    /** KV slots held by running requests (written by the engine thread only). */
    private volatile int slotsUsed;

    public Engine(M6Model model, Tokenizer tok, Options opt, Stats stats) { this(model, tok, opt, stats, null); }

    /** routing (or null) collects MoE routing statistics of every forward the engine runs (evaluation). */
    public Engine(M6Model model, Tokenizer tok, Options opt, Stats stats, RoutingStats routing) {
        this.model = model;
        this.tok = tok;
        this.opt = opt;
        this.stats = stats;
        this.routing = routing;
        this.eos = tok.id(Tokenizer.EOS);
        this.textVocab = Math.min(model.config.vocabSize(), tok.vocabSize());  // a t2i run's image codes are never text
        this.codeOffset = tok.vocabSize();
        this.codebook = Math.max(0, model.config.vocabSize() - codeOffset);
        this.pending = new ArrayBlockingQueue<>(opt.maxQueue());
        this.tasks = new LinkedBlockingQueue<>(opt.maxQueue());
        this.used = new boolean[opt.maxBatch()];
        worker = new Thread(this::loop, "m6j-engine");
        worker.setDaemon(true);
        worker.start();
    }

    /** An engine for this process's own work (see {@link Options#local}). */
    public static Engine local(M6Model model, Tokenizer tok) { return new Engine(model, tok, Options.local(), Stats.NONE); }

    public M6Model model() { return model; }

    public Tokenizer tokenizer() { return tok; }

    public Options options() { return opt; }

    /** Requests waiting for a slot. */
    public int queued() { return pending.size(); }

    /** Model tasks ({@link #call}) waiting for the engine thread. */
    public int tasksWaiting() { return tasks.size(); }

    /** Requests in the running batch. */
    public int running() { return active.size(); }

    /** KV-cache slots held by running requests (a guided image request holds two). */
    public int slotsUsed() { return slotsUsed; }

    /** KV-cache slots in the pool (--max-batch). */
    public int slots() { return opt.maxBatch(); }

    /** Null while the engine runs, else why it stopped. */
    public String failure() { return running ? null : failure == null ? "stopped" : failure; }

    /** [BOS] + the text's tokens: the prefix of a text request. */
    public int[] prompt(String text) { return tok.encodeWithBos(text); }

    /** Queues all requests (each with its events set by {@link Request#to}), or none (BUSY when the queue cannot take them all). */
    public void submit(List<Request> reqs) {
        for (Request r : reqs) check(r);
        synchronized (pending) {
            if (!running) throw EngineException.unavailable("the engine is not running: " + failure());
            if (pending.remainingCapacity() < reqs.size()) throw EngineException.busy(1 + pending.size() / Math.max(1, opt.maxBatch()));
            long now = System.nanoTime();
            for (Request r : reqs) { r.submittedNanos = now; r.deadlineNanos = now + opt.timeoutMs() * 1_000_000L; }
            pending.addAll(reqs);
        }
        signal();
    }

    private void check(Request r) {
        if (r.events == null) throw new IllegalArgumentException("request " + r.index + " has nowhere to send its events");
        int ctx = model.config.maxTextLen();
        if (r.prefix.length >= ctx)
            throw EngineException.invalid("prompt of " + r.prefix.length + " tokens fills the model's context of " + ctx + " tokens");
        if (r.rows() > opt.maxBatch()) throw EngineException.invalid("a request needs " + r.rows() + " rows, the batch holds " + opt.maxBatch());
        if (r.output == Request.Output.IMAGE_CODES) {
            if (codebook == 0) throw EngineException.invalid("this model has no image codes (trained without --vqgan)");
            if (r.image != null) throw EngineException.invalid("an image-code request reads no image");
            if (r.prefix.length + r.maxNew > ctx)
                throw EngineException.invalid("prompt + " + r.maxNew + " codes exceed the model's context of " + ctx);
        }
        if (r.state != null && JsonGrammar.minRemaining(r.state) > budget(r))
            throw EngineException.invalid("the shortest output the format allows takes " + JsonGrammar.minRemaining(r.state) + " tokens; only "
                    + budget(r) + " are left after the prompt and within the limit");
    }

    /** Tokens r may generate in all: its limit, within the context. */
    private int budget(Request r) { return Math.min(r.maxNew, model.config.maxTextLen() - r.prefix.length); }

    /** Runs requests to their end and returns their results in order (blocking; for the CLI and evaluation). */
    public List<Event.Done> run(List<Request> reqs) { return run(reqs, () -> false); }

    /** As {@link #run(List)}; when abandoned() turns true the requests are cancelled and this throws {@link CancellationException}. */
    public List<Event.Done> run(List<Request> reqs, BooleanSupplier abandoned) {
        LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
        for (Request r : reqs) r.to(q, false);
        Event.Done[] out = new Event.Done[reqs.size()];
        Map<Integer, Integer> at = new HashMap<>();
        for (int i = 0; i < reqs.size(); i++) if (at.put(reqs.get(i).index, i) != null)
            throw new IllegalArgumentException("duplicate request index " + reqs.get(i).index);
        submit(reqs);
        try {
            for (int done = 0; done < out.length; ) {
                Event e = q.poll(POLL_MS, TimeUnit.MILLISECONDS);
                if (e == null) {
                    if (!running) throw EngineException.unavailable("the engine stopped: " + failure());
                    if (abandoned.getAsBoolean()) {
                        for (Request r : reqs) if (pending.remove(r)) { stats.cancelled(1); finished(r, "cancelled"); }     // queued ones leave at once
                        throw new CancellationException("abandoned");
                    }
                    continue;
                }
                if (e instanceof Event.Failed f) throw f.error();
                if (e instanceof Event.Done d) { out[at.get(d.index())] = d; done++; }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted");
        } finally {
            for (Request r : reqs) r.cancel();      // no-op for finished ones
        }
        return List.of(out);
    }

    /** Runs model work on the engine thread between decode steps (inside a PointerScope and NoGradGuard). */
    public <T> T call(Callable<T> work) throws Exception { return call(work, () -> false); }

    /**
     * As {@link #call(Callable)}; work not yet started is dropped when abandoned() turns true (its caller went away),
     * and the call then throws {@link CancellationException}.
     */
    public <T> T call(Callable<T> work, BooleanSupplier abandoned) throws Exception {
        if (!running) throw EngineException.unavailable("the engine is not running: " + failure());
        FutureTask<T> f = new FutureTask<>(work);
        if (!tasks.offer(f)) throw EngineException.busy(1 + tasks.size() / Math.max(1, opt.maxBatch()));
        signal();
        long deadline = System.nanoTime() + opt.timeoutMs() * 1_000_000L;
        try {
            while (true) {
                try {
                    return f.get(Math.min(POLL_MS, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    if (System.nanoTime() > deadline) throw EngineException.timeout(opt.timeoutMs());
                    if (!running) throw EngineException.unavailable("the engine stopped: " + failure());
                    if (abandoned.getAsBoolean()) {
                        if (f.cancel(false)) stats.cancelled(1);
                        throw new CancellationException("abandoned");
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
                // While sequences decode, one task per step: a queue of embedding or search work never stalls streams.
                while ((t = tasks.poll()) != null) {
                    try (PointerScope s = new PointerScope()) { t.run(); }
                    if (!active.isEmpty()) break;
                }
                admit();
                if (!active.isEmpty()) step();
                else synchronized (wake) {
                    if (running && pending.isEmpty() && tasks.isEmpty()) wake.wait(50);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            // Not a batch's failure (those are caught in step and prefill): the engine cannot go on.
            failure = e.toString();
            e.printStackTrace();
        } finally {
            synchronized (pending) { running = false; }
            EngineException err = EngineException.unavailable("the engine stopped: " + failure());
            for (Request r : active) { finished(r, "error"); r.events.add(new Event.Failed(r.index, err)); release(r); }
            active.clear();
            Request r;
            while ((r = pending.poll()) != null) { finished(r, "error"); r.events.add(new Event.Failed(r.index, err)); }
            FutureTask<?> t;
            while ((t = tasks.poll()) != null) t.cancel(false);
            if (pool != null) pool.close();
        }
    }

    private int freeSlots() {
        int n = 0;
        for (boolean u : used) if (!u) n++;
        return n;
    }

    private int takeSlot() {
        int slot = 0;
        while (used[slot]) slot++;
        used[slot] = true;
        slotsUsed++;
        return slot;
    }

    private void admit() {
        // While a batch is running, let arrivals gather for a few steps so that one batched prefill serves several.
        if (!active.isEmpty() && pending.size() < Math.max(1, opt.maxBatch() / 4) && ++stepsSinceAdmit < ADMIT_EVERY) return;
        stepsSinceAdmit = 0;
        List<Request> admitted = new ArrayList<>();
        Request r;
        while ((r = pending.peek()) != null && r.rows() <= freeSlots()) {
            pending.poll();
            if (leaves(r)) continue;
            r.slots = new int[r.rows()];
            r.caches = new KvCache[r.rows()];
            for (int j = 0; j < r.rows(); j++) {
                r.slots[j] = takeSlot();
                r.caches[j] = pool.slot(r.slots[j]);         // a view: made outside the step's PointerScope
            }
            r.rng = new Random(r.sampling.seed());
            stats.queued(System.nanoTime() - r.submittedNanos);
            admitted.add(r);
        }
        if (admitted.isEmpty()) return;
        for (List<Request> byAdapter : byAdapter(admitted))
            for (boolean withImage : new boolean[]{false, true}) {
                List<Request> group = byAdapter.stream().filter(q -> (q.image != null) == withImage).toList();
                if (group.isEmpty()) continue;
                try (PointerScope scope = new PointerScope()) {
                    prefill(group, withImage);
                } catch (RuntimeException | OutOfMemoryError e) {
                    fail(group, e, "prefill");
                    continue;
                }
                for (Request q : group) {
                    if (accept(q)) release(q);
                    else active.add(q);
                }
            }
        active.sort(Comparator.comparingInt(q -> q.slots[0]));     // rows in slot order: contiguous slots decode without a gather
    }

    /** A KV row of a running request: its prefix (the unconditional one for a guided request's second row) and its cache. */
    private record Row(Request r, int[] prefix, KvCache cache, boolean second) {}

    private static List<Row> rows(List<Request> reqs) {
        List<Row> rows = new ArrayList<>();
        for (Request r : reqs) {
            rows.add(new Row(r, r.prefix, r.caches[0], false));
            if (r.unconditional != null) rows.add(new Row(r, r.unconditional, r.caches[1], true));
        }
        return rows;
    }

    /**
     * Prefills several requests in one forward: rows padded to the longest prefix, each row's prefix read
     * bidirectionally over its own length only (pads stay out), then each row's first len positions are copied
     * into its slot and each request's first token chosen from the logits at its last prefix position.
     */
    private void prefill(List<Request> group, boolean withImage) {
        List<Row> rows = rows(group);
        int b = rows.size(), t = rows.stream().mapToInt(q -> q.prefix.length).max().orElseThrow();
        int p = withImage ? model.config.patches() : 0;
        long[] ids = new long[b * t];
        int[] len = new int[b];
        List<byte[]> images = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            Row q = rows.get(i);
            for (int j = 0; j < q.prefix.length; j++) ids[i * t + j] = q.prefix[j];
            len[i] = p + q.prefix.length;
            if (withImage) images.add(q.r.image);
        }
        Tensor img = withImage ? Batch.images(images, model.config.imageSize(), model.config.channels()) : null;
        try (KvCache tmp = model.newCache(b, p + t)) {
            ForwardContext ctx = ForwardContext.serving(routing).adapter(group.get(0).adapter);
            Tensor h = model.forward(img, Tensors.longs(ids, b, t), 0, PrefixMask.of(len, p + t, 0), tmp, ctx);
            long[] last = new long[b];
            for (int i = 0; i < b; i++) last[i] = (long) i * (p + t) + len[i] - 1;
            Tensor hl = h.reshape(b * (long) (p + t), model.config.dModel()).index_select(0, Devices.like(h, Tensors.longs(last, b)));
            for (int i = 0; i < b; i++) rows.get(i).cache.loadRow(tmp, i, len[i]);
            next(hl, rows, ctx);
        }
        for (Request q : group) stats.promptTokens(q.prefix.length + (withImage ? p : 0));
    }

    private void step() {
        List<Request> live = new ArrayList<>(active.size());
        for (Request r : active) {
            if (leaves(r)) release(r);
            else live.add(r);
        }
        active.retainAll(live);
        for (List<Request> group : byAdapter(live)) decode(group);
        active.removeIf(r -> r.slots == null);
    }

    /** True when r leaves before its next step: cancelled (counted) or past its deadline (failed as a timeout). */
    private boolean leaves(Request r) {
        if (r.cancelled()) { stats.cancelled(1); finished(r, "cancelled"); return true; }
        if (System.nanoTime() <= r.deadlineNanos) return false;
        finished(r, "timeout");
        r.events.add(new Event.Failed(r.index, EngineException.timeout(opt.timeoutMs())));
        return true;
    }

    /** Requests grouped by the adapter they decode with (the base's first), each group in slot order. */
    private static List<List<Request>> byAdapter(List<Request> rs) {
        Map<Lora, List<Request>> groups = new LinkedHashMap<>();
        List<Request> base = new ArrayList<>();
        for (Request r : rs) {
            if (r.adapter == null) base.add(r);
            else groups.computeIfAbsent(r.adapter, a -> new ArrayList<>()).add(r);
        }
        List<List<Request>> out = new ArrayList<>();
        if (!base.isEmpty()) out.add(base);
        out.addAll(groups.values());
        return out;
    }

    /** One batched decode step for requests of one adapter. */
    private void decode(List<Request> live) {
        List<Row> rows = rows(live);
        int b = rows.size();
        long[] tokens = new long[b];
        int[] pos = new int[b];
        KvCache[] caches = new KvCache[b];
        for (int i = 0; i < b; i++) {
            Row q = rows.get(i);
            tokens[i] = q.r.output == Request.Output.IMAGE_CODES ? codeOffset + q.r.last() : q.r.last();
            pos[i] = q.r.prefix.length + q.r.count - 1;
            caches[i] = q.cache;
        }
        long t0 = System.nanoTime();
        try (PointerScope scope = new PointerScope()) {
            ForwardContext ctx = ForwardContext.serving(routing).adapter(live.get(0).adapter);
            next(model.decode(tokens, pos, caches, ctx).reshape(b, model.config.dModel()), rows, ctx);
        } catch (RuntimeException | OutOfMemoryError e) {
            fail(live, e, "decode");
            return;
        }
        stats.decodeStep(b, System.nanoTime() - t0);
        for (Request r : live) if (accept(r)) release(r);
    }

    /**
     * Chooses each request's next token from the final hidden states of its rows (R, d): text requests over the text
     * vocabulary, image-code requests over the codes, a guided one from uncond + g * (cond - uncond) of its two rows;
     * ctx: the context the rows' forward ran with (its adapter applies to the output layer too).
     */
    private void next(Tensor h, List<Row> rows, ForwardContext ctx) {
        // The output layer runs over the slice each kind of row may choose from: a 512-code image row skips the text vocabulary.
        List<Request> text = new ArrayList<>(), codes = new ArrayList<>();
        List<Long> textRows = new ArrayList<>(), cond = new ArrayList<>(), uncond = new ArrayList<>();
        List<Float> g = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Row q = rows.get(i);
            if (q.second) { uncond.set(uncond.size() - 1, (long) i); g.set(g.size() - 1, (float) q.r.guidance); continue; }
            if (q.r.output == Request.Output.TEXT) { text.add(q.r); textRows.add((long) i); }
            else { codes.add(q.r); cond.add((long) i); uncond.add((long) i); g.add(1f); }
        }
        if (!text.isEmpty()) {
            Tensor ht = text.size() == rows.size() ? h : h.index_select(0, index(h, textRows));      // all text: no gather
            Tensor l = model.logits(ht, ctx, 0, textVocab);                                                        // (Bt, Vtext)
            Tensor allowed = l;
            long g0 = System.nanoTime();
            int constrained = (int) text.stream().filter(r -> r.state != null).count();
            if (constrained > 0) allowed = l.add(masks(text, l).to(l.scalar_type()));    // grammar rows: -inf off it
            long g1 = System.nanoTime();
            int[] ids = Sampler.choose(allowed, settings(text), rngs(text));
            if (text.stream().anyMatch(r -> r.logprobs >= 0)) logprobs(l, text, ids);
            add(text, ids);
            long g2 = System.nanoTime();
            for (int i = 0; i < ids.length; i++) advance(text.get(i), ids[i]);
            if (constrained > 0) stats.grammar(constrained, (g1 - g0) + (System.nanoTime() - g2));
        }
        if (!codes.isEmpty()) {
            Tensor logits = model.logits(h, ctx, codeOffset, codebook);                            // (R, K)
            Tensor c = logits.index_select(0, index(logits, cond)), u = logits.index_select(0, index(logits, uncond));  // (Bc, K)
            float[] gs = new float[g.size()];
            for (int i = 0; i < gs.length; i++) gs[i] = g.get(i);
            Tensor mixed = u.add(c.sub(u).mul(Devices.like(c, Tensors.floats(gs, gs.length, 1)).to(c.scalar_type())));
            add(codes, Sampler.choose(mixed, settings(codes), rngs(codes)));
        }
    }

    /** (Bt, Vtext): 0 where a row's grammar allows the token, -inf elsewhere; rows without a grammar all 0. */
    private Tensor masks(List<Request> rs, Tensor like) {
        if (mask == null) mask = new TokenMask(tok, textVocab);
        float[] m = new float[rs.size() * textVocab];
        boolean[] ok = new boolean[textVocab];
        for (int i = 0; i < rs.size(); i++) {
            Request r = rs.get(i);
            if (r.state == null) continue;
            Arrays.fill(ok, false);
            int left = budget(r) - r.count - 1;
            if (mask.allowed(r.state, left, ok) == 0) ok[eos] = true;     // cannot happen when check() passed; end rather than NaN
            if (r.grammarOptional && r.count == 0) mask.notOpeningJson(ok);    // not a tool call: any text not starting with '{'
            int off = i * textVocab;
            for (int t = 0; t < textVocab; t++) if (!ok[t]) m[off + t] = Float.NEGATIVE_INFINITY;
        }
        return Devices.like(like, Tensors.floats(m, rs.size(), textVocab));
    }

    /** Moves r's grammar state past token id (nothing for EOS); an optional grammar lapses when the text does not open with '{'. */
    private void advance(Request r, int id) {
        if (r.state == null || id == eos) return;
        byte[] b = tok.bytes(id);
        if (r.grammarOptional && r.count == 1 && (b == null || b[0] != '{')) {
            r.state = null;
            return;
        }
        JsonGrammar.Stack next = b == null ? null : JsonGrammar.feed(r.state, b);
        if (next == null) throw new IllegalStateException("token " + id + " is outside the grammar it was chosen under");
        r.state = next;
    }

    /** Each asking row's chosen token's log-probability under the model, and its top alternatives. */
    private static void logprobs(Tensor logits, List<Request> rs, int[] ids) {
        List<Long> rows = new ArrayList<>();
        int top = 0;
        for (int i = 0; i < rs.size(); i++) if (rs.get(i).logprobs >= 0) { rows.add((long) i); top = Math.max(top, rs.get(i).logprobs); }
        Tensor sub = rows.size() == rs.size() ? logits : logits.index_select(0, index(logits, rows));
        Tensor lp = torch.log_softmax(sub.to(ScalarType.Float), -1, new ScalarTypeOptional());            // (n, V)
        long[] chosen = new long[rows.size()];
        for (int j = 0; j < chosen.length; j++) chosen[j] = ids[(int) (long) rows.get(j)];
        float[] own = Tensors.toFloats(lp.gather(1, Devices.like(lp, Tensors.longs(chosen, chosen.length, 1))).reshape(-1));
        float[] tv = new float[0];
        long[] ti = new long[0];
        if (top > 0) {
            T_TensorTensor_T t = torch.topk(lp, top, -1, true, true);                                          // (n, top) each
            tv = Tensors.toFloats(t.get0().contiguous());
            ti = Tensors.toLongs(t.get1().contiguous());
        }
        for (int j = 0; j < chosen.length; j++) {
            Request r = rs.get((int) (long) rows.get(j));
            int k = r.logprobs;
            int[] alt = new int[k];
            float[] alp = new float[k];
            for (int a = 0; a < k; a++) { alt[a] = (int) ti[j * top + a]; alp[a] = tv[j * top + a]; }
            r.lps.add(new TokenLogprob((int) chosen[j], own[j], alt, alp));
        }
    }

    private static Tensor index(Tensor like, List<Long> rows) {
        long[] a = new long[rows.size()];
        for (int i = 0; i < a.length; i++) a[i] = rows.get(i);
        return Devices.like(like, Tensors.longs(a, a.length));
    }

    private static Sampling[] settings(List<Request> rs) { return rs.stream().map(r -> r.sampling).toArray(Sampling[]::new); }

    private static Random[] rngs(List<Request> rs) { return rs.stream().map(r -> r.rng).toArray(Random[]::new); }

    private static void add(List<Request> rs, int[] ids) { for (int i = 0; i < ids.length; i++) rs.get(i).add(ids[i]); }

    /** Emits the newest token; true when the request is complete. */
    private boolean accept(Request r) {
        stats.generatedTokens(1);
        long now = System.nanoTime();
        if (r.count == 1) stats.firstToken(now - r.submittedNanos);
        else stats.interToken(now - r.lastTokenNanos);
        r.lastTokenNanos = now;
        if (r.output == Request.Output.IMAGE_CODES) return r.count >= r.maxNew && done(r, "length");
        if (r.last() == eos) { r.dropLast(); return done(r, "stop"); }
        if (r.state != null && JsonGrammar.closed(r.state)) return done(r, "stop");     // the value is complete: nothing may follow
        if (r.streaming || !r.stop.isEmpty()) {
            String full = tok.decode(r.ids());
            int cut = stopAt(full, r.stop);
            if (cut >= 0) return done(r, "stop");
            // Emit what cannot turn out to start a stop sequence, and never half a character.
            String safe = full.substring(0, full.length() - heldBack(full, r.stop));
            if (r.streaming && !safe.endsWith("\uFFFD") && safe.startsWith(r.emitted) && safe.length() > r.emitted.length()) {
                r.events.add(new Event.Token(r.index, safe.substring(r.emitted.length()), r.unsentLogprobs()));
                r.emitted = safe;
            }
        }
        if (r.count >= r.maxNew || r.prefix.length + r.count >= model.config.maxTextLen()) return done(r, "length");
        return false;
    }

    /** Where the first stop sequence starts in text, or -1. */
    static int stopAt(String text, List<String> stops) {
        int at = -1;
        for (String s : stops) {
            int i = text.indexOf(s);
            if (i >= 0 && (at < 0 || i < at)) at = i;
        }
        return at;
    }

    /** Length of the longest end of text that is the start of a stop sequence (held back while streaming). */
    static int heldBack(String text, List<String> stops) {
        int held = 0;
        for (String s : stops)
            for (int k = Math.min(s.length() - 1, text.length()); k > held; k--)
                if (text.endsWith(s.substring(0, k))) { held = k; break; }
        return held;
    }

    private boolean done(Request r, String finish) {
        int[] ids = r.ids();
        String full = r.output == Request.Output.TEXT ? tok.decode(ids) : "";
        int cut = stopAt(full, r.stop);
        if (cut >= 0) { full = full.substring(0, cut); finish = "stop"; }
        if (r.streaming && full.length() > r.emitted.length() && full.startsWith(r.emitted))
            r.events.add(new Event.Token(r.index, full.substring(r.emitted.length()), r.unsentLogprobs()));
        finished(r, finish);                    // before Done: a caller that has its answer finds it counted
        r.events.add(new Event.Done(r.index, finish, r.prefix.length + (r.image == null ? 0 : model.config.patches()), r.count, full, ids, List.copyOf(r.lps)));
        return true;
    }

    /** A batch failed: its requests fail, the engine goes on with the next. */
    private void fail(List<Request> reqs, Throwable e, String where) {
        EngineException err = e instanceof IllegalArgumentException ? EngineException.invalid(e.getMessage())
                : EngineException.failed(where + " failed: " + e);
        for (Request r : reqs) {
            finished(r, "error");
            r.events.add(new Event.Failed(r.index, err));
            release(r);
        }
    }

    private void finished(Request r, String finish) { stats.finished(finish, System.nanoTime() - r.submittedNanos); }

    private void release(Request r) {
        if (r.slots == null) return;
        for (int s : r.slots) used[s] = false;
        slotsUsed -= r.slots.length;
        for (KvCache c : r.caches) c.close();
        r.slots = null;
        r.caches = null;
    }

    @Override public void close() throws InterruptedException {
        running = false;
        signal();
        worker.join(10_000);
    }
}
