package m6j.model;

import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Per-layer keys and values, preallocated (B, H, maxLen, hd), filled left to right during generation.
 * A cache can also be a pool of slots: {@link #slot} gives one request its own batch-1 cache (a view of the pool),
 * and {@link M6Model#decode} runs one batched step over several slots of different lengths.
 */
public final class KvCache implements AutoCloseable {
    private final Tensor[] k, v;
    private final int maxLen;
    private final KvCache pool;     // the pool this slot views, or null
    private final int slot;
    private int length;
    // Ragged decode over pool slots (set only on the short-lived cache that M6Model.decode builds).
    private Tensor flatIndex, rows;
    private int span, firstRow = -1;

    public KvCache(M6Config c, int batch, int maxLen, ScalarType dtype, Device device) {
        this.maxLen = maxLen;
        k = new Tensor[c.nLayers()];
        v = new Tensor[c.nLayers()];
        for (int l = 0; l < c.nLayers(); l++) {
            k[l] = Tensors.zeros(dtype, batch, c.nHeads(), maxLen, c.headDim());
            v[l] = Tensors.zeros(dtype, batch, c.nHeads(), maxLen, c.headDim());
            if (!Devices.isCpu(device)) { k[l] = k[l].to(device, dtype); v[l] = v[l].to(device, dtype); }
        }
        pool = null;
        slot = -1;
    }

    private KvCache(KvCache pool, int slot, Tensor[] k, Tensor[] v) {
        this.pool = pool;
        this.slot = slot;
        this.k = k;
        this.v = v;
        this.maxLen = pool.maxLen;
    }

    /**
     * Slot i of this pool as an empty batch-1 cache writing into the pool's memory (call outside a PointerScope;
     * close it when the request ends: that frees the view, not the pool).
     */
    public KvCache slot(int i) {
        if (pool != null) throw new IllegalStateException("slot of a slot");
        if (i < 0 || i >= k[0].size(0)) throw new IllegalArgumentException("slot " + i + " outside pool of " + k[0].size(0));
        Tensor[] ks = new Tensor[k.length], vs = new Tensor[v.length];
        for (int l = 0; l < k.length; l++) { ks[l] = k[l].narrow(0, i, 1); vs[l] = v[l].narrow(0, i, 1); }
        return new KvCache(this, i, ks, vs);
    }

    /**
     * Fills this empty slot with the first len positions of row `row` of another cache (a batched prefill whose
     * rows were padded to one length). Views only: safe inside a PointerScope.
     */
    public void loadRow(KvCache src, int row, int len) {
        if (length != 0) throw new IllegalStateException("loadRow into a cache that is not empty");
        if (len > maxLen) throw new IllegalStateException("KV cache full: " + len + " > " + maxLen);
        for (int l = 0; l < k.length; l++) {
            k[l].narrow(2, 0, len).copy_(src.k[l].narrow(0, row, 1).narrow(2, 0, len));
            v[l].narrow(2, 0, len).copy_(src.v[l].narrow(0, row, 1).narrow(2, 0, len));
        }
        length = len;
    }

    /** This slot's index in its pool, or -1 for a pool or plain cache. */
    public int slotIndex() { return slot; }

    /**
     * A cache for one decode step of one new token per slot, each slot at its own length: writes go to
     * position length(slot) of each slot, reads see positions [0, max length] (the caller masks each row's tail).
     */
    static KvCache ragged(KvCache[] slots) {
        KvCache pool = slots[0].pool;
        if (pool == null) throw new IllegalArgumentException("batched decode needs slots of one pool");
        int h = (int) pool.k[0].size(1), m = pool.maxLen, b = slots.length, max = 0;
        long[] flat = new long[b * h], rowIdx = new long[b];
        for (int i = 0; i < b; i++) {
            KvCache s = slots[i];
            if (s.pool != pool) throw new IllegalArgumentException("batched decode needs slots of one pool");
            if (s.length + 1 > m) throw new IllegalStateException("KV cache full: " + (s.length + 1) + " > " + m);
            rowIdx[i] = s.slot;
            for (int j = 0; j < h; j++) flat[i * h + j] = ((long) s.slot * h + j) * m + s.length;
            max = Math.max(max, s.length + 1);
        }
        KvCache r = new KvCache(pool, -1, pool.k, pool.v);
        r.flatIndex = Tensors.longs(flat, flat.length);
        r.rows = Tensors.longs(rowIdx, b);
        r.span = max;
        boolean contiguous = true;
        for (int i = 1; i < b; i++) contiguous &= rowIdx[i] == rowIdx[0] + i;
        if (contiguous) r.firstRow = (int) rowIdx[0];         // slots in order: read them as a view, not a gathered copy
        return r;
    }

    public int length() { return length; }

    public int maxLen() { return maxLen; }

    /** Writes (B, H, S, hd) keys/values at the current length; returns the full (B, H, length+S, hd) views. */
    Tensor[] append(int layer, Tensor newK, Tensor newV) {
        if (flatIndex != null) return appendRagged(layer, newK, newV);
        long s = newK.size(2);
        if (length + s > maxLen) throw new IllegalStateException("KV cache full: " + (length + s) + " > " + maxLen);
        k[layer].narrow(2, length, s).copy_(newK);
        v[layer].narrow(2, length, s).copy_(newV);
        return new Tensor[]{k[layer].narrow(2, 0, length + s), v[layer].narrow(2, 0, length + s)};
    }

    /** (B, H, 1, hd) new keys/values, one per slot, written through flat views of the pool (never in place on a pool handle). */
    private Tensor[] appendRagged(int layer, Tensor newK, Tensor newV) {
        long b = newK.size(0), h = newK.size(1), hd = newK.size(3);
        k[layer].view(-1, hd).index_copy_(0, Devices.like(k[layer], flatIndex), newK.reshape(b * h, hd));
        v[layer].view(-1, hd).index_copy_(0, Devices.like(k[layer], flatIndex), newV.reshape(b * h, hd));
        if (firstRow >= 0) return new Tensor[]{k[layer].narrow(2, 0, span).narrow(0, firstRow, b), v[layer].narrow(2, 0, span).narrow(0, firstRow, b)};
        Tensor r = Devices.like(k[layer], rows);
        return new Tensor[]{k[layer].narrow(2, 0, span).index_select(0, r), v[layer].narrow(2, 0, span).index_select(0, r)};
    }

    int span() { return span; }

    /** Called once after every layer has appended S positions. */
    void advance(int s) { length += s; }

    /** A view or a ragged step frees only its own handles; a pool or plain cache frees the memory. */
    @Override public void close() {
        if (flatIndex != null) { flatIndex.close(); rows.close(); return; }
        for (int l = 0; l < k.length; l++) { k[l].close(); v[l].close(); }
    }
}
