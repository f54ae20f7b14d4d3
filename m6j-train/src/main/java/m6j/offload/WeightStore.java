package m6j.offload;

import m6j.model.LayerStore;
import m6j.model.Params;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.stream.IntStream;

/**
 * The layer store of an offloaded model (granular offloading: M6's "granular CPU offloading", here with RAM and
 * disk tiers) and its parameter sink. The blocks an {@link OffloadPlan} marks offloaded keep no weights between
 * uses: before a block runs, its dense part is installed into the model's parameter tensors (set_data) and only
 * the experts that receive tokens are read in; afterwards they are dropped again, and after a backward the
 * {@link GradCollector} takes their gradients. The next block's weights are read on the {@link IoThread} while the
 * current one computes. Holds the model's offloaded parameter tensors (empty between uses), the weights in use,
 * the prefetches and the expert counts; reads the tiers' weights (P), writes them only at creation. Every buffer
 * is freed explicitly (docs/ENGINE.md on scopes).
 */
final class WeightStore implements Params.Sink, LayerStore {
    private final UnitIndex index;
    private final Tiers tiers;
    private final IoThread io;
    private final GradCollector grads;
    private final Map<String, Tensor> params = new HashMap<>();
    private final Future<Tensor>[] densePre;
    private final Future<Tensor[]>[] expertPre;
    private final long[][] preIds, forwardIds;
    private final Tensor[] denseLive;
    private final Tensor[][] expertLive;
    private final long[][] liveIds;
    private final Tensor empty = torch.empty(0);     // what an offloaded parameter holds between uses
    private boolean grad;
    private long expertLoads, expertSkips;

    @SuppressWarnings("unchecked")
    WeightStore(UnitIndex index, Tiers tiers, IoThread io, GradCollector grads) {
        this.index = index;
        this.tiers = tiers;
        this.io = io;
        this.grads = grads;
        int layers = index.layers();
        densePre = new Future[layers];
        expertPre = new Future[layers];
        preIds = new long[layers][];
        forwardIds = new long[layers][];
        denseLive = new Tensor[layers];
        expertLive = new Tensor[layers][];
        liveIds = new long[layers][];
    }

    // ---- Params.Sink: initial values go straight to their tier; the model's tensor keeps no data.

    @Override public void created(String name, Tensor t) {
        List<UnitIndex.Slot> ss = index.slots(name);
        if (ss == null) return;
        try (NoGradGuard ng = new NoGradGuard(); Tensor d = t.detach(); Tensor flat = d.reshape(-1)) {
            for (UnitIndex.Slot s : ss) try (Tensor part = flat.narrow(0, s.piece().start(), s.piece().numel())) {
                tiers.write(s.unit(), Tiers.Kind.P, s.piece().offset(), part);
            }
        }
        t.__dispatch_set_data(empty);
        params.put(name, t);
    }

    // ---- LayerStore

    @Override public boolean offloaded(int layer) { return index.plan.managed()[layer]; }

    @Override public void enter(int layer, boolean grad) {
        if (!offloaded(layer)) return;                       // a resident block: its own tensors
        this.grad = grad;
        io.call(() -> { install(layer); return null; });
        int next = neighbour(layer, grad ? -1 : 1);
        if (next >= 0) prefetch(next, grad);
    }

    @Override public Experts experts(int layer, long[] tokens, Tensor[] own) {
        if (!offloaded(layer)) return RESIDENT.experts(layer, tokens, own);
        long[] ids = IntStream.range(0, tokens.length).filter(i -> tokens[i] > 0).asLongStream().toArray();   // only experts with tokens
        if (!grad) forwardIds[layer] = ids.clone();          // what the backward will ask for
        int[] units = index.experts(layer);
        expertLoads += ids.length;
        expertSkips += units.length - ids.length;
        Future<Tensor[]> pre = expertPre[layer];
        boolean usePre = pre != null && Arrays.equals(preIds[layer], ids);
        expertPre[layer] = null;
        boolean g = grad;
        Tensor[] w = io.call(() -> {
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
        io.later(() -> {
            if (grad) grads.collect(layer, params::get, expertLive[layer], liveIds[layer]);
            uninstall(layer);
            return null;
        });
    }

    private int neighbour(int layer, int dir) {
        for (int l = layer + dir; l >= 0 && l < index.layers(); l += dir) if (index.plan.managed()[l]) return l;
        return -1;
    }

    private void prefetch(int layer, boolean withExperts) {
        if (densePre[layer] == null && index.dense(layer) >= 0) densePre[layer] = io.submit(() -> tiers.read(index.dense(layer), Tiers.Kind.P));
        long[] ids = forwardIds[layer];
        if (withExperts && ids != null && expertPre[layer] == null) {
            preIds[layer] = ids;
            expertPre[layer] = io.submit(() -> loadExperts(layer, ids));
        }
    }

    /** On the I/O thread: the dense part's weights into the model's parameters. */
    private void install(int layer) throws Exception {
        int u = index.dense(layer);
        if (u < 0) return;
        Future<Tensor> pre = densePre[layer];
        densePre[layer] = null;
        Tensor flat = pre != null ? pre.get() : tiers.read(u, Tiers.Kind.P);
        denseLive[layer] = flat;
        for (OffloadPlan.Piece p : index.unit(u).pieces())
            try (Tensor n = flat.narrow(0, p.offset(), p.numel()); Tensor v = n.view(p.shape())) {
                params.get(p.name()).__dispatch_set_data(v);
            }
    }

    private void uninstall(int layer) {
        int u = index.dense(layer);
        if (u >= 0) {
            for (OffloadPlan.Piece p : index.unit(u).pieces()) params.get(p.name()).__dispatch_set_data(empty);
            tiers.release(u, denseLive[layer]);
            denseLive[layer] = null;
        }
        if (expertLive[layer] != null) for (Tensor t : expertLive[layer]) tiers.free(t);
        expertLive[layer] = null;
    }

    /** The four expert tensors (w1, b1, w2, b2) for these experts, (E', ...) each, read from their tiers. */
    private Tensor[] loadExperts(int layer, long[] ids) {
        List<OffloadPlan.Piece> ps = index.unit(index.experts(layer)[0]).pieces();
        Tensor[] out = new Tensor[ps.size()];
        for (int k = 0; k < out.length; k++) {
            long[] shape = new long[ps.get(k).shape().length + 1];
            shape[0] = ids.length;
            System.arraycopy(ps.get(k).shape(), 0, shape, 1, shape.length - 1);
            out[k] = tiers.track(torch.empty(shape));
        }
        for (int j = 0; j < ids.length; j++) {
            int u = index.experts(layer)[(int) ids[j]];
            List<OffloadPlan.Piece> up = index.unit(u).pieces();
            for (int k = 0; k < out.length; k++) try (Tensor row = out[k].select(0, j)) {
                tiers.readInto(u, Tiers.Kind.P, up.get(k).offset(), row);
            }
        }
        return out;
    }

    /** Experts brought in versus skipped because they received no tokens, since the start. */
    long[] expertCounts() { return new long[]{expertLoads, expertSkips}; }
}
