package m6j.parallel;

import m6j.model.Presets;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class PlanTest {
    static Plan.Strategy s(int gpus, int ep, int mp, Plan.Offload off) { return new Plan.Strategy(gpus, ep, mp, false, off, false); }

    @Test void gpt3ParameterCountIsWithinOnePercentOf175B() {
        Plan.Result r = Plan.price(Presets.get("gpt3-175b"), Plan.gpu("v100-32gb"), s(1024, 1, 64, Plan.Offload.NONE), 3e11, 2048, 0.3, 1.0);
        assertThat(r.totalParams() / 175e9).isCloseTo(1.0, within(0.01));
        assertThat(r.activeParams()).isEqualTo(r.totalParams());        // dense: every parameter is active
    }

    @Test void m6TenTrillionShapeGivesTenTrillionParameters() {
        var c = Presets.get("m6-10t");
        assertThat(c.nLayers()).isEqualTo(48);
        assertThat(c.dModel()).isEqualTo(1024);
        assertThat(c.dFF()).isEqualTo(9984);
        assertThat(c.moe().experts()).isEqualTo(10240);
        assertThat(c.moe().prototypes()).isEqualTo(80);
        long total = c.parameterCounts()[0];
        long experts = 48L * 10240 * (2L * 1024 * 9984 + 9984 + 1024);
        assertThat(total).isGreaterThan(experts).isLessThan(experts + 1_000_000_000L);
        assertThat(total / 1e13).isCloseTo(1.0, within(0.01));
        // k top-1 over 80 prototypes: 80 experts per token and layer are active
        long active = c.parameterCounts()[1];
        assertThat(active).isEqualTo(total - 48L * (10240 - 80) * (2L * 1024 * 9984 + 9984 + 1024));
    }

    @Test void flopsAreSixTimesActiveParametersTimesTokens() {
        Plan.Result r = Plan.price(Presets.get("small"), Plan.gpu("a100-80gb"), s(8, 8, 1, Plan.Offload.NONE), 1e9, 2048, 0.5, 1.0);
        assertThat(r.flopsPerToken()).isEqualTo(6.0 * r.activeParams());
        double seconds = r.days() * 86400;
        assertThat(seconds).isCloseTo(6.0 * r.activeParams() * 1e9 / (8 * 312e12 * 0.5), within(1e-6 * seconds));
        assertThat(r.kWh()).isCloseTo(8 * 400 * seconds / 3.6e6, within(1e-9 * r.kWh()));
    }

    @Test void aConfigThatCannotFitSaysSoAndNamesTheComponent() {
        Plan.Result r = Plan.price(Presets.get("m6-1t"), Plan.gpu("v100-32gb"), s(8, 8, 1, Plan.Offload.NONE), 1e9, 2048, 0.3, 1.0);
        assertThat(r.fits()).isFalse();
        assertThat(r.overflow()).contains("optimizer (fp32 master + Adam m, v)");
        assertThat(Plan.table(r)).contains("DOES NOT FIT");
        Plan.Result off = Plan.price(Presets.get("m6-1t"), Plan.gpu("v100-32gb"), s(960, 960, 1, Plan.Offload.ALL), 1e9, 2048, 0.3, 1.0);
        assertThat(off.fits()).isTrue();
        assertThatThrownBy(() -> Plan.gpu("tpu")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("v100-32gb");
    }
}
