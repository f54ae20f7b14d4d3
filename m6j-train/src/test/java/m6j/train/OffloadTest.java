package m6j.train;

import m6j.TestPresets;
import m6j.checkpoint.Checkpoint;
import m6j.model.M6Config;
import m6j.offload.OffloadPlan;
import m6j.offload.OffloadedState;
import m6j.runtime.Safetensors;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class OffloadTest {
    /** Four blocks, MoE (8 experts, top-2) in blocks 1 and 3. */
    static final M6Config C = TestPresets.get("offload-test");

    @BeforeAll static void setUp() throws IOException { TrainerTest.corpus(); }

    static TrainOptions opts(Path run, int steps, long budget) { return opts(run, steps, budget, 2); }

    static TrainOptions opts(Path run, int steps, long budget, int accum) {
        return TrainerTest.opts(run, steps, 3).toBuilder().accum(accum).clip(0.5).memoryBudget(budget).build();
    }

    /** A budget that keeps some blocks whole, some units in RAM and puts the rest on disk. */
    static long budget() {
        long all = OffloadPlan.of(C, Long.MAX_VALUE).residentBytes();
        for (int pct = 95; pct > 20; pct -= 5) {
            try {
                OffloadPlan p = OffloadPlan.of(C, all * pct / 100);
                boolean[] m = p.managed();
                if (!m[0] && m[3] && p.units().stream().anyMatch(OffloadPlan.Unit::onDisk)
                        && p.units().stream().anyMatch(u -> !u.onDisk())) return p.budget();
            } catch (IllegalArgumentException tooSmall) {
                break;
            }
        }
        throw new AssertionError("no budget gives a mixed plan for " + C.name());
    }

    /**
     * One micro-batch per step: bit-identical losses. (With accumulation the tied embedding's gradient is summed in
     * another order, head part and input part in separate backward passes, so it differs in the last bit; see the
     * resume test, which uses accumulation 2.)
     */
    @Test void offloadedTrainingMatchesInMemoryTrainingWithinTheBudget(@TempDir Path dir) throws IOException {
        Trainer mem = new Trainer(C, opts(dir.resolve("mem"), 6, 0, 1), false, TrainerTest.QUIET);
        mem.run(6);
        Trainer off = new Trainer(C, opts(dir.resolve("off"), 6, budget(), 1), false, TrainerTest.QUIET);
        OffloadedState state = (OffloadedState) off.state();
        OffloadPlan plan = state.plan();
        assertThat(plan.units()).anyMatch(OffloadPlan.Unit::onDisk).anyMatch(u -> !u.onDisk());
        assertThat(plan.managed()).contains(true, false);
        off.run(6);
        for (int i = 0; i < 6; i++) {
            double a = mem.history().get(i).loss(), b = off.history().get(i).loss();
            assertThat(b).as("loss at step %d", i).isEqualTo(a);
        }
        assertThat(plan.residentBytes() + plan.ramUnitBytes() + state.peakWorkingBytes()).isLessThanOrEqualTo(plan.budget());
        long[] experts = state.expertCounts();
        assertThat(experts[0]).isPositive();
        // The offloaded run's checkpoint is an ordinary one: same tensors as the in-memory run's.
        Map<String, Tensor> a = Safetensors.read(mem.lastCheckpoint().resolve(Checkpoint.MODEL)).tensors(),
                b = Safetensors.read(off.lastCheckpoint().resolve(Checkpoint.MODEL)).tensors();
        assertThat(b.keySet()).isEqualTo(a.keySet());
        for (String k : a.keySet()) {
            float[] x = Tensors.toFloats(a.get(k)), y = Tensors.toFloats(b.get(k));
            for (int i = 0; i < x.length; i++) assertThat(y[i]).as("%s[%d]", k, i).isCloseTo(x[i], within(1e-4f));
        }
        Map<String, Tensor> oa = Safetensors.read(mem.lastCheckpoint().resolve(Checkpoint.OPTIMIZER)).tensors(),
                ob = Safetensors.read(off.lastCheckpoint().resolve(Checkpoint.OPTIMIZER)).tensors();
        assertThat(ob.keySet()).isEqualTo(oa.keySet());
    }

    @Test void offloadedRunResumesExactly(@TempDir Path dir) throws IOException {
        long budget = budget();
        Trainer full = new Trainer(C, opts(dir.resolve("a"), 6, budget), false, TrainerTest.QUIET);
        full.run(6);
        new Trainer(C, opts(dir.resolve("b"), 6, budget), false, TrainerTest.QUIET).run(3);
        Trainer resumed = new Trainer(C, opts(dir.resolve("b"), 6, budget), true, TrainerTest.QUIET);
        assertThat(resumed.step()).isEqualTo(3);
        resumed.run(6);
        List<StepRecord> a = full.history(), b = resumed.history();
        for (int i = 0; i < 6; i++) assertThat(b.get(i).loss()).as("loss at step %d", i).isEqualTo(a.get(i).loss());
    }

    @Test void aBudgetTooSmallSaysWhatItNeeds() {
        assertThatThrownBy(() -> OffloadPlan.of(C, 100_000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--memory-budget").hasMessageContaining("too small").hasMessageContaining("working set");
        assertThat(OffloadPlan.of(C, 1L << 40).offloads()).isFalse();
    }
}
