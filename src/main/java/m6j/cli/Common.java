package m6j.cli;

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
        }
        Torch.init();
        m6j.runtime.Devices.choose(device);
    }
}
