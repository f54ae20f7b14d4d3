package m6j.offload;

import m6j.checkpoint.Checkpoint;
import m6j.model.LayerStore;
import m6j.model.M6Model;
import m6j.model.Params;
import m6j.optim.AdamW;
import m6j.runtime.Safetensors;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Granular offloading (M6's "granular CPU offloading", here with RAM and disk tiers): the blocks an
 * {@link OffloadPlan} marks offloaded keep no weights between uses. Before a block runs, its dense part is
 * installed into the model's parameter tensors (set_data) and only the experts that receive tokens are read in;
 * afterwards they are dropped again, and after a backward their gradients go to the gradient tier. The next
 * block's weights are read on a background thread while the current one computes. The optimizer then streams
 * over the offloaded units where they live. All tensor work on offloaded state runs on that one I/O thread,
 * outside any PointerScope, and every buffer is freed explicitly (see docs/ENGINE.md on scopes).
 */
public final class Offloader implements Params.Sink, LayerStore, Closeable {
    private record Slot(int unit, OffloadPlan.Piece piece) {}

    private final OffloadPlan plan;
    private final Tiers tiers;
    private final ExecutorService io = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "m6j-offload-io");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, List<Slot>> slots = new HashMap<>();
    private final Map<String, long[]> fullShape = new HashMap<>();
    private final Map<String, Tensor> params = new HashMap<>();
    private final int[] dense;                  // per layer: the unit index of its dense part, or -1
    private final int[][] expert;               // per layer: unit index per expert (MoE blocks)
    private final Future<Tensor>[] densePre;
    private final Future<Tensor[]>[] expertPre;
    private final long[][] preIds, forwardIds;
    private final Tensor[] denseLive;
    private final Tensor[][] expertLive;
    private final long[][] liveIds;
    private final Tensor empty = torch.empty(0);
    private boolean grad;
    private Future<?> pending;
    private long expertLoads, expertSkips, waitNs, updateNs;

    @SuppressWarnings("unchecked")
    public Offloader(OffloadPlan plan, Path dir) throws IOException {
        this.plan = plan;
        this.tiers = new Tiers(dir, plan.units());
        int layers = plan.managed().length;
        dense = new int[layers];
        Arrays.fill(dense, -1);
        expert = new int[layers][];
        for (int i = 0; i < plan.units().size(); i++) {
            OffloadPlan.Unit u = plan.units().get(i);
            if (u.expert() < 0) dense[u.layer()] = i;
            else {
                int[] e = expert[u.layer()];
                if (e == null || e.length <= u.expert()) expert[u.layer()] = e = e == null ? new int[u.expert() + 1] : Arrays.copyOf(e, u.expert() + 1);
                e[u.expert()] = i;
            }
            for (OffloadPlan.Piece p : u.pieces()) slots.computeIfAbsent(p.name(), k -> new ArrayList<>()).add(new Slot(i, p));
        }
        slots.forEach((name, ss) -> {
            OffloadPlan.Piece p = ss.get(0).piece();
            if (ss.size() == 1 && ss.get(0).piece().start() == 0 && plan.units().get(ss.get(0).unit()).expert() < 0) fullShape.put(name, p.shape());
            else {
                long[] s = new long[p.shape().length + 1];
                s[0] = ss.size();
                System.arraycopy(p.shape(), 0, s, 1, p.shape().length);
                fullShape.put(name, s);
            }
        });
        densePre = new Future[layers];
        expertPre = new Future[layers];
        preIds = new long[layers][];
        forwardIds = new long[layers][];
        denseLive = new Tensor[layers];
        expertLive = new Tensor[layers][];
        liveIds = new long[layers][];
    }

    public OffloadPlan plan() { return plan; }

    public boolean manages(String name) { return slots.containsKey(name); }

    /** The parameters the plain optimizer keeps (everything not offloaded). */
    public Map<String, Tensor> resident(Map<String, Tensor> all) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((k, t) -> { if (!manages(k)) out.put(k, t); });
        return out;
    }

    // ---- Params.Sink: initial values go straight to their tier; the model's tensor keeps no data.

    @Override public void created(String name, Tensor t) {
        List<Slot> ss = slots.get(name);
        if (ss == null) return;
        try (NoGradGuard ng = new NoGradGuard(); Tensor d = t.detach(); Tensor flat = d.reshape(-1)) {
            for (Slot s : ss) try (Tensor part = flat.narrow(0, s.piece().start(), s.piece().numel())) {
                tiers.write(s.unit(), Tiers.Kind.P, s.piece().offset(), part);
            }
        }
        t.__dispatch_set_data(empty);
        params.put(name, t);
    }

    // ---- LayerStore

    @Override public boolean offloaded(int layer) { return plan.managed()[layer]; }

    @Override public void enter(int layer, boolean grad) {
        if (!offloaded(layer)) return;                       // a resident block: its own tensors
        this.grad = grad;
        call(() -> { install(layer); return null; });
        int next = neighbour(layer, grad ? -1 : 1);
        if (next >= 0) prefetch(next, grad);
    }

    @Override public Experts experts(int layer, long[] tokens, Tensor[] own) {
        if (!offloaded(layer)) return RESIDENT.experts(layer, tokens, own);
        long[] ids = IntStream.range(0, tokens.length).filter(i -> tokens[i] > 0).asLongStream().toArray();   // only experts with tokens
        if (!grad) forwardIds[layer] = ids.clone();          // what the backward will ask for
        int[] units = expert[layer];
        expertLoads += ids.length;
        expertSkips += units.length - ids.length;
        Future<Tensor[]> pre = expertPre[layer];
        boolean usePre = pre != null && Arrays.equals(preIds[layer], ids);
        expertPre[layer] = null;
        boolean g = grad;
        Tensor[] w = call(() -> {
            Tensor[] t = usePre ? pre.get() : loadExperts(layer, ids);
            if (pre != null && !usePre) for (Tensor x : pre.get()) tiers.free(x);
            if (g) for (Tensor x : t) x.requires_grad_(true);
            return t;
        });
        expertLive[layer] = w;
        liveIds[layer] = ids;
        return new Experts(ids, w);
    }

    @Override public void exit(int layer, boolean grad) {
        if (!offloaded(layer)) return;
        pending = io.submit(() -> {
            if (grad) collectGrads(layer);
            uninstall(layer);
            return null;
        });
    }

    private int neighbour(int layer, int dir) {
        for (int l = layer + dir; l >= 0 && l < dense.length; l += dir) if (plan.managed()[l]) return l;
        return -1;
    }

    private void prefetch(int layer, boolean withExperts) {
        if (densePre[layer] == null && dense[layer] >= 0) densePre[layer] = io.submit(() -> tiers.read(dense[layer], Tiers.Kind.P));
        long[] ids = forwardIds[layer];
        if (withExperts && ids != null && expertPre[layer] == null) {
            preIds[layer] = ids;
            expertPre[layer] = io.submit(() -> loadExperts(layer, ids));
        }
    }

    /** On the I/O thread: the dense part's weights into the model's parameters. */
    private void install(int layer) throws Exception {
        int u = dense[layer];
        if (u < 0) return;
        Future<Tensor> pre = densePre[layer];
        densePre[layer] = null;
        Tensor flat = pre != null ? pre.get() : tiers.read(u, Tiers.Kind.P);
        denseLive[layer] = flat;
        for (OffloadPlan.Piece p : plan.units().get(u).pieces())
            try (Tensor n = flat.narrow(0, p.offset(), p.numel()); Tensor v = n.view(p.shape())) {
                params.get(p.name()).__dispatch_set_data(v);
            }
    }

    private void uninstall(int layer) {
        int u = dense[layer];
        if (u >= 0) {
            for (OffloadPlan.Piece p : plan.units().get(u).pieces()) params.get(p.name()).__dispatch_set_data(empty);
            tiers.release(u, denseLive[layer]);
            denseLive[layer] = null;
        }
        if (expertLive[layer] != null) for (Tensor t : expertLive[layer]) tiers.free(t);
        expertLive[layer] = null;
    }

    /** The four expert tensors (w1, b1, w2, b2) for these experts, (E', ...) each, read from their tiers. */
    private Tensor[] loadExperts(int layer, long[] ids) {
        List<OffloadPlan.Piece> ps = plan.units().get(expert[layer][0]).pieces();
        Tensor[] out = new Tensor[ps.size()];
        for (int k = 0; k < out.length; k++) {
            long[] shape = new long[ps.get(k).shape().length + 1];
            shape[0] = ids.length;
            System.arraycopy(ps.get(k).shape(), 0, shape, 1, shape.length - 1);
            out[k] = tiers.track(torch.empty(shape));
        }
        for (int j = 0; j < ids.length; j++) {
            int u = expert[layer][(int) ids[j]];
            List<OffloadPlan.Piece> up = plan.units().get(u).pieces();
            for (int k = 0; k < out.length; k++) try (Tensor row = out[k].select(0, j)) {
                tiers.readInto(u, Tiers.Kind.P, up.get(k).offset(), row);
            }
        }
        return out;
    }

    /** On the I/O thread, after block layer's backward: its gradients, added to what earlier micro-batches left. */
    private void collectGrads(int layer) {
        try (NoGradGuard ng = new NoGradGuard()) {
            int u = dense[layer];
            if (u >= 0) {
                OffloadPlan.Unit unit = plan.units().get(u);
                Tensor g = tiers.alloc(unit.numel(), true);
                for (OffloadPlan.Piece p : unit.pieces()) {
                    Tensor param = params.get(p.name());
                    try (Tensor pg = param.grad(); Tensor dst = g.narrow(0, p.offset(), p.numel())) {
                        if (pg != null && pg.defined()) try (Tensor flat = pg.reshape(-1)) { dst.copy_(flat); }
                    }
                    param.mutable_grad().reset();
                }
                accumulate(u, g);
            }
            Tensor[] live = expertLive[layer];
            if (live == null) return;
            long[] ids = liveIds[layer];
            Tensor[] grads = new Tensor[live.length];
            for (int k = 0; k < live.length; k++) grads[k] = live[k].grad();
            for (int j = 0; j < ids.length; j++) {
                int eu = expert[layer][(int) ids[j]];
                OffloadPlan.Unit unit = plan.units().get(eu);
                Tensor g = tiers.alloc(unit.numel(), true);
                for (int k = 0; k < live.length; k++) {
                    if (grads[k] == null || !grads[k].defined()) continue;
                    OffloadPlan.Piece p = unit.pieces().get(k);
                    try (Tensor row = grads[k].select(0, j); Tensor flat = row.reshape(-1); Tensor dst = g.narrow(0, p.offset(), p.numel())) {
                        dst.copy_(flat);
                    }
                }
                accumulate(eu, g);
            }
            for (Tensor t : grads) if (t != null) t.close();
        }
    }

    /** Adds g to unit u's gradient in its tier (g is consumed) and records the squared norm of the sum. */
    private void accumulate(int u, Tensor g) {
        if (tiers.hasGrad[u]) {
            Tensor old = tiers.read(u, Tiers.Kind.G);
            g.add_(old);
            tiers.release(u, old);
        }
        tiers.gradSq[u] = AdamW.squares(g);
        tiers.write(u, Tiers.Kind.G, 0, g);
        tiers.hasGrad[u] = true;
        tiers.free(g);
    }

    /** Waits for queued gradient write-backs; then the squared gradient norm of all offloaded units. */
    public double gradSquares() {
        sync();
        double s = 0;
        for (double v : tiers.gradSq) s += v;
        return s;
    }

    /**
     * AdamW over every offloaded unit where it lives, streaming one unit at a time, with gradients scaled by
     * gradScale (clipping). Units without a gradient this step update with a zero gradient, exactly as the
     * batched expert tensors of a resident model do (every expert of a layer that ran has a gradient there).
     */
    public void update(AdamW.Options o, double lr, long step, double gradScale) {
        AdamW.requireNoScope("Offloader.update");
        sync();
        long t0 = System.nanoTime();
        double bc1 = 1 - Math.pow(o.beta1(), step), bc2 = 1 - Math.pow(o.beta2(), step);
        call(() -> {
            try (NoGradGuard ng = new NoGradGuard()) {
                for (int u = 0; u < plan.units().size(); u++) {
                    Tensor p = tiers.read(u, Tiers.Kind.P),
                            g = tiers.hasGrad[u] ? tiers.read(u, Tiers.Kind.G) : tiers.alloc(plan.units().get(u).numel(), true),
                            m = tiers.read(u, Tiers.Kind.M), v = tiers.read(u, Tiers.Kind.V);
                    if (gradScale != 1) g.mul_(Tensors.scalar(gradScale));
                    List<Tensor> decayed = new ArrayList<>();
                    for (OffloadPlan.Piece pc : plan.units().get(u).pieces()) if (pc.decay()) decayed.add(p.narrow(0, pc.offset(), pc.numel()));
                    AdamW.apply(p, g, m, v, decayed, o, lr, bc1, bc2);
                    for (Tensor d : decayed) d.close();
                    if (tiers.onDisk(u)) {
                        tiers.write(u, Tiers.Kind.P, 0, p);
                        tiers.write(u, Tiers.Kind.M, 0, m);
                        tiers.write(u, Tiers.Kind.V, 0, v);
                    }
                    for (Tensor t : new Tensor[]{p, g, m, v}) tiers.release(u, t);
                    tiers.dropGrad(u);
                }
            }
            return null;
        });
        updateNs += System.nanoTime() - t0;
    }

    /** Checkpoint entries: resident tensors as they are, offloaded ones gathered from their tier when written. */
    public List<Safetensors.Entry> entries(Map<String, Tensor> tensors, String prefix) {
        return new OffloadState(this).entries(tensors, prefix);
    }

    /**
     * Resume of an offloaded run from checkpoint dir: resident weights and Adam moments copied in, offloaded ones
     * streamed into their tiers, one tensor at a time (the whole state need not fit in memory).
     */
    public void resume(Path dir, M6Model model, AdamW opt, long optStep) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            if (s.anyMatch(p -> p.getFileName().toString().startsWith("experts-")))
                throw new IOException(dir + " was written with expert parallelism; resume it without --memory-budget");
        }
        try (Safetensors.Reader mr = new Safetensors.Reader(dir.resolve(Checkpoint.MODEL));
             Safetensors.Reader or = new Safetensors.Reader(dir.resolve(Checkpoint.OPTIMIZER));
             NoGradGuard ng = new NoGradGuard()) {
            Map<String, Tensor> state = new HashMap<>();
            for (var e : resident(model.params.named()).entrySet()) {
                Tensor t = mr.read(e.getKey());
                try {
                    e.getValue().copy_(model.shardOf(e.getKey(), t, e.getValue(), dir.resolve(Checkpoint.MODEL).toString()));
                } catch (IllegalArgumentException ex) {
                    throw new IOException(ex.getMessage(), ex);
                }
                t.close();
                for (String p : new String[]{"m.", "v."}) state.put(p + e.getKey(), or.read(p + e.getKey()));
            }
            opt.load(state, optStep, dir.resolve(Checkpoint.OPTIMIZER).toString());
            state.values().forEach(Tensor::close);
            new OffloadState(this).load(mr, or);
        }
    }

    // ---- for OffloadState

    Tiers tiers() { return tiers; }

    Set<String> offloadedNames() { return params.keySet(); }

    long[] fullShape(String name) { return fullShape.get(name); }

    /** (unit index, piece) for each slice of an offloaded parameter. */
    List<int[]> slotUnits(String name) {
        List<int[]> out = new ArrayList<>();
        for (Slot s : slots.get(name)) out.add(new int[]{s.unit(), plan.units().get(s.unit()).pieces().indexOf(s.piece())});
        return out;
    }

    <T> T onIoThread(Callable<T> c) { return call(c); }

    /** Experts brought in versus skipped because they received no tokens, since the start. */
    public long[] expertCounts() { return new long[]{expertLoads, expertSkips}; }

    /** Most bytes held at once in working buffers (weights in use, gradients, prefetches, optimizer streaming). */
    public long peakWorkingBytes() { sync(); return tiers.peakHeld(); }

    private void sync() {
        if (pending != null) {
            Future<?> f = pending;
            pending = null;
            call(f::get);                           // done by now (queued earlier); rethrows its failure
        }
    }

    private <T> T call(Callable<T> c) {
        long t0 = System.nanoTime();
        try {
            return io.submit(c).get();
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

    /** Seconds the training thread waited for offload work (loads, write-backs, the streaming update) and of those in the update. */
    public double[] seconds() { return new double[]{waitNs / 1e9, updateNs / 1e9}; }

    @Override public void close() throws IOException {
        sync();
        io.shutdown();
        tiers.close();
    }
}
