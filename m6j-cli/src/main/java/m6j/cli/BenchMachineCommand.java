package m6j.cli;

import m6j.runtime.Machine;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

/** The machine's measured matmul rate: what scripts print next to the absolute times they report. */
@Command(name = "machine", mixinStandardHelpOptions = true,
        description = "This machine's fp32 1024^3 matmul rate (GFLOP/s, 5 s of runs), to print next to absolute times.")
public final class BenchMachineCommand implements Callable<Integer> {
    @Mixin Common common;

    @Override public Integer call() {
        common.init();
        double measured = Machine.matmulGflops();
        Machine.Peak peak = Machine.theoreticalPeak();
        System.out.printf("m6j bench machine: 1024^3 fp32 matmul %.0f GFLOP/s with %d threads%n", measured, torch.get_num_threads());
        System.out.printf("  theoretical fp32 peak: %s; the matmul reaches %.0f%% of it%n", peak.derivation(), 100 * measured / peak.gflops());
        return 0;
    }
}
