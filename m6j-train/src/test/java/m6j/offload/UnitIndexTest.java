package m6j.offload;

import m6j.TestPresets;
import m6j.model.ExpertShard;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.runtime.Torch;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The lookup every offload part shares: each offloaded parameter is cut into slices that cover it once. */
class UnitIndexTest {
    @BeforeAll static void init() { Torch.init(); }

    @Test void slicesCoverEachOffloadedParameterOnceAndLayersFindTheirUnits() {
        M6Config c = TestPresets.get("offload-test");
        OffloadPlan plan = OffloadPlan.of(c, OffloadPlan.of(c, Long.MAX_VALUE).residentBytes() * 3 / 4);
        assertThat(plan.units()).anyMatch(u -> u.expert() >= 0).anyMatch(u -> u.expert() < 0);
        UnitIndex index = new UnitIndex(plan);
        Map<String, Tensor> all = new M6Model(c, ScalarType.Float, 0, new Device("meta"), ExpertShard.ALL).params.named();
        assertThat(index.names()).isNotEmpty();
        assertThat(index.resident(all).keySet()).doesNotContainAnyElementsOf(index.names());
        assertThat(index.resident(all).size() + index.names().size()).isEqualTo(all.size());
        for (String name : index.names()) {
            assertThat(Arrays.stream(index.fullShape(name)).reduce(1, (a, b) -> a * b)).as(name).isEqualTo(all.get(name).numel());
            List<UnitIndex.Slot> ss = index.slots(name).stream().sorted(Comparator.comparingLong(s -> s.piece().start())).toList();
            long next = 0;
            for (UnitIndex.Slot s : ss) {
                assertThat(s.piece().start()).as(name).isEqualTo(next);
                assertThat(index.unit(s.unit()).pieces()).contains(s.piece());
                next += s.piece().numel();
            }
            assertThat(next).as(name).isEqualTo(all.get(name).numel());
        }
        for (int u = 0; u < index.unitCount(); u++) {
            OffloadPlan.Unit unit = index.unit(u);
            int found = unit.expert() < 0 ? index.dense(unit.layer()) : index.experts(unit.layer())[unit.expert()];
            assertThat(found).isEqualTo(u);
        }
    }
}
