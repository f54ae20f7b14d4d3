package m6j.runtime;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Device choice: "cpu", "cuda" (fails clearly when absent) or "auto" (CUDA when this libtorch build sees a GPU). */
public final class Devices {
    private static volatile Device chosen;

    private Devices() {}

    /** The device new models are built on: set once by the CLI's --device, CPU when never set. */
    public static Device chosen() { return chosen; }

    public static Device choose(String name) {
        chosen = resolve(name);
        return chosen;
    }

    public static Device resolve(String name) {
        Torch.init();
        return switch (name == null ? "auto" : name) {
            case "cpu" -> new Device("cpu");
            case "cuda" -> {
                if (!torch.cuda_is_available())
                    throw new IllegalArgumentException("--device cuda: no CUDA device is visible to this libtorch build "
                            + "(the default artifact is CPU-only; build with -Djavacpp.platform.extension=-gpu on a GPU machine)");
                yield new Device("cuda:0");
            }
            case "auto" -> new Device(torch.cuda_is_available() ? "cuda:0" : "cpu");
            default -> throw new IllegalArgumentException("--device must be cpu, cuda or auto, not '" + name + "'");
        };
    }

    /** t on the device of like (a no-op on CPU). */
    public static Tensor like(Tensor like, Tensor t) {
        if (t == null || like.is_cuda() == t.is_cuda()) return t;
        return t.to(like.device(), t.scalar_type());
    }

    public static boolean isCpu(Device d) { return d == null || !d.is_cuda(); }
}
