package m6j.model;

import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Per-layer keys and values, preallocated (B, H, maxLen, hd), filled left to right during generation. */
public final class KvCache implements AutoCloseable {
    private final Tensor[] k, v;
    private final int maxLen;
    private int length;

    public KvCache(M6Config c, int batch, int maxLen, ScalarType dtype, org.bytedeco.pytorch.Device device) {
        this.maxLen = maxLen;
        k = new Tensor[c.nLayers()];
        v = new Tensor[c.nLayers()];
        for (int l = 0; l < c.nLayers(); l++) {
            k[l] = Tensors.zeros(dtype, batch, c.nHeads(), maxLen, c.headDim());
            v[l] = Tensors.zeros(dtype, batch, c.nHeads(), maxLen, c.headDim());
            if (!m6j.runtime.Devices.isCpu(device)) { k[l] = k[l].to(device, dtype); v[l] = v[l].to(device, dtype); }
        }
    }

    public int length() { return length; }

    public int maxLen() { return maxLen; }

    /** Writes (B, H, S, hd) keys/values at the current length; returns the full (B, H, length+S, hd) views. */
    Tensor[] append(int layer, Tensor newK, Tensor newV) {
        long s = newK.size(2);
        if (length + s > maxLen) throw new IllegalStateException("KV cache full: " + (length + s) + " > " + maxLen);
        k[layer].narrow(2, length, s).copy_(newK);
        v[layer].narrow(2, length, s).copy_(newV);
        return new Tensor[]{k[layer].narrow(2, 0, length + s), v[layer].narrow(2, 0, length + s)};
    }

    /** Called once after every layer has appended S positions. */
    void advance(int s) { length += s; }

    @Override public void close() {
        for (int l = 0; l < k.length; l++) { k[l].close(); v[l].close(); }
    }
}
