package m6j.runtime;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class MachineTest {
    /** The peak is derived from this machine's /proc/cpuinfo: its parts are sane and multiply to it. */
    @Test void theoreticalPeakIsDerivedFromTheCpu() {
        Machine.Peak p = Machine.theoreticalPeak();
        assertThat(p.cores()).isBetween(1, Runtime.getRuntime().availableProcessors());
        assertThat(p.lanes()).isIn(4, 8, 16);
        assertThat(p.fmaUnits()).isIn(1, 2);
        if (System.getProperty("os.name").startsWith("Linux")) assertThat(p.ghz()).isBetween(0.2, 7.0);
        assertThat(p.gflops()).isEqualTo(p.cores() * p.ghz() * p.lanes() * p.fmaUnits() * 2);
        assertThat(p.derivation()).contains(p.cores() + " cores", p.vector(), String.format("%.1f GFLOP/s", p.gflops()));
    }
}
