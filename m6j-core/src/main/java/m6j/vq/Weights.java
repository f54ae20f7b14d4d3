package m6j.vq;

import m6j.runtime.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Named float32 CPU leaf tensors of one network (names are the safetensors keys). Created outside any
 * PointerScope: they live as long as the network.
 */
public final class Weights {
    private final Map<String, Tensor> map = new LinkedHashMap<>();
    private final boolean trainable;

    public Weights(boolean trainable) { this.trainable = trainable; }

    public Tensor add(String name, Supplier<Tensor> init) {
        if (map.containsKey(name)) throw new IllegalStateException("duplicate weight " + name);
        Tensor t = init.get().to(ScalarType.Float).detach();
        if (trainable) t.requires_grad_(true);
        map.put(name, t);
        return t;
    }

    /** Conv weight (out, in, k, k) ~ N(0, 1/fan_in). */
    public Tensor conv(String name, int out, int in, int k) {
        return add(name, () -> Tensors.normal(Math.sqrt(1.0 / (in * k * k)), ScalarType.Float, out, in, k, k));
    }

    public Tensor zeros(String name, long... shape) { return add(name, () -> Tensors.zeros(ScalarType.Float, shape)); }

    public Tensor ones(String name, long... shape) { return add(name, () -> Tensors.ones(ScalarType.Float, shape)); }

    public Map<String, Tensor> named() { return Collections.unmodifiableMap(map); }

    public long count() {
        long n = 0;
        for (Tensor t : map.values()) n += t.numel();
        return n;
    }

    /** Copies values in by name (outside a PointerScope), checking names and shapes. */
    public void load(Map<String, Tensor> src, String source) {
        if (PointerScope.getInnerScope() != null)
            throw new IllegalStateException("Weights.load must run outside a PointerScope");
        for (var e : map.entrySet()) {
            Tensor s = src.get(e.getKey());
            if (s == null) throw new IllegalArgumentException(source + ": missing tensor '" + e.getKey() + "'");
            if (!Arrays.equals(Tensors.shape(s), Tensors.shape(e.getValue())))
                throw new IllegalArgumentException(source + ": tensor '" + e.getKey() + "' has shape "
                        + Arrays.toString(Tensors.shape(s)) + ", expected " + Arrays.toString(Tensors.shape(e.getValue())));
            try (var ng = new NoGradGuard()) {
                e.getValue().copy_(s.to(ScalarType.Float));
            }
        }
    }
}
