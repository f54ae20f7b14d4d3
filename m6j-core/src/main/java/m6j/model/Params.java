package m6j.model;

import m6j.runtime.Devices;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The model's named leaf tensors (names are the safetensors keys). Owning parameters here, not in
 * libtorch Modules, lets later stages shard experts, offload layers or share blocks by name.
 */
public final class Params {
    private final Map<String, Tensor> map = new LinkedHashMap<>();
    private final Set<String> sharded = new HashSet<>();
    final ScalarType dtype;
    final long seed;
    final Device device;
    private final Sink sink;

    /**
     * Sees each parameter as it is created, with its initial values, and may move its data elsewhere (an offload
     * tier) before the next one is made: a model larger than memory never exists whole.
     */
    public interface Sink {
        void created(String name, Tensor t);
    }

    public Params(ScalarType dtype, long seed) { this(dtype, seed, null); }

    public Params(ScalarType dtype, long seed, Device device) { this(dtype, seed, device, null); }

    /**
     * device null = CPU. Initial values are drawn on the CPU (same numbers on every device), then moved. On the
     * "meta" device tensors have shapes only (no data, no random draws): for planning memory.
     */
    public Params(ScalarType dtype, long seed, Device device, Sink sink) {
        this.dtype = dtype;
        this.seed = seed;
        this.device = device;
        this.sink = sink;
    }

    /** The tensor under name, created with init (then marked requires_grad) on first use: shared names alias. */
    Tensor getOrCreate(String name, long[] shape, Supplier<Tensor> init) {
        return map.computeIfAbsent(name, n -> {
            Tensor t;
            if (isMeta()) t = torch.empty(shape, new TensorOptions(device),
                    new MemoryFormatOptional()).to(dtype);
            else {
                // Intermediate handles are closed here: left to the GC they keep the initial values alive, which is
                // the whole model when a sink offloads it as it is made.
                try (Tensor raw = init.get(); Tensor typed = raw.to(dtype)) {
                    t = typed.detach();
                }
                if (!Devices.isCpu(device)) {
                    Tensor cpu = t;
                    try (Tensor moved = cpu.to(device, dtype)) { t = moved.detach(); }
                    cpu.close();
                }
            }
            t.requires_grad_(true);
            if (sink != null) sink.created(n, t);
            return t;
        });
    }

    boolean isMeta() { return device != null && device.is_meta(); }

    Tensor normal(String name, double std, long... shape) { return getOrCreate(name, shape, () -> Tensors.normal(std, dtype, shape)); }

    Tensor zeros(String name, long... shape) { return getOrCreate(name, shape, () -> Tensors.zeros(dtype, shape)); }

    Tensor ones(String name, long... shape) { return getOrCreate(name, shape, () -> Tensors.ones(dtype, shape)); }

    public Map<String, Tensor> named() { return Collections.unmodifiableMap(map); }

    /** Marks a tensor whose dim 0 is split over expert-parallel ranks (expert weights). */
    void markSharded(String name) { sharded.add(name); }

    public boolean isSharded(String name) { return sharded.contains(name); }

    /**
     * The slice of a full tensor (all experts) that this shard holds in local, or full itself for an unsharded
     * tensor, checking shapes (one-line error naming the source): a checkpoint loads at any expert-parallel degree.
     */
    public Tensor shardOf(String name, Tensor full, Tensor local, ExpertShard shard, String source) {
        long[] want = Tensors.shape(local), got = Tensors.shape(full);
        if (isSharded(name) && got.length == want.length && got.length > 0 && got[0] == want[0] * shard.count()) {
            long[] rest = Arrays.copyOfRange(got, 1, got.length), wrest = Arrays.copyOfRange(want, 1, want.length);
            if (Arrays.equals(rest, wrest)) return full.narrow(0, want[0] * shard.index(), want[0]);
        }
        if (!Arrays.equals(want, got))
            throw new IllegalArgumentException(source + ": tensor '" + name + "' has shape " + Arrays.toString(got)
                    + ", model expects " + Arrays.toString(want));
        return full;
    }

    public Tensor get(String name) {
        Tensor t = map.get(name);
        if (t == null) throw new IllegalArgumentException("no parameter " + name);
        return t;
    }

    public long count() {
        long n = 0;
        for (Tensor t : map.values()) n += t.numel();
        return n;
    }

    public ScalarType dtype() { return dtype; }

    public Device device() { return device; }
}
