package m6j.cli;

import m6j.runtime.Devices;
import m6j.runtime.Torch;
import picocli.CommandLine.Option;

/** Options every compute command takes. */
public final class Common {
    @Option(names = "--threads", description = "Intra-op threads (default: all cores).")
    Integer threads;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto (default: ${DEFAULT-VALUE}).")
    String device;

    /** Applies thread settings and loads libtorch. */
    void init() {
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("--threads must be >= 1");
            System.setProperty("m6j.threads", Integer.toString(threads));
            if (!Integer.toString(threads).equals(System.getenv("OPENBLAS_NUM_THREADS")))
                System.err.println("m6j: note: OpenBLAS sizes its own thread pool from OPENBLAS_NUM_THREADS (set it to " + threads
                        + " as well; m6j launch does this for its workers)");
        }
        Torch.init();
        Devices.choose(device);
    }
}
