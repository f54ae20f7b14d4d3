package m6j.runtime;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;

/**
 * Loads libtorch once per JVM with the settings docs/ENGINE.md (notes 10-11) found necessary:
 * natives extracted before first use, intra-op threads = cores, one inter-op thread.
 */
public final class Torch {
    private static volatile boolean ready;

    private Torch() {}

    /** Idempotent; call before any tensor code. */
    public static synchronized void init() {
        if (ready) return;
        try {
            // Pitfall 1: extract every native library before libtorch.so is loaded.
            Loader.cacheResources(org.bytedeco.pytorch.presets.torch.class,
                    "/org/bytedeco/pytorch/" + Loader.getPlatform() + "/");
        } catch (Exception e) {
            throw new IllegalStateException("cannot extract libtorch natives: " + e.getMessage(), e);
        }
        Loader.load(torch.class);
        int threads = Integer.getInteger("m6j.threads", Runtime.getRuntime().availableProcessors());
        torch.set_num_threads(threads);
        torch.set_num_interop_threads(1);
        ready = true;
    }

    /** Warns once when the spin-wait fix is missing (a 6x slowdown on 2 cores). */
    public static boolean ompPassive() {
        return "PASSIVE".equalsIgnoreCase(System.getenv("OMP_WAIT_POLICY"));
    }
}
