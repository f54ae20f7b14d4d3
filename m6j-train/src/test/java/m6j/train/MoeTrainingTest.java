package m6j.train;

import m6j.TestPresets;
import m6j.checkpoint.Checkpoint;
import m6j.model.M6Config;
import m6j.model.MoeConfig;
import m6j.runtime.Safetensors;
import m6j.runtime.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Training with shared experts, dropless routing and bias balancing (no aux loss): the state resumes exactly. */
class MoeTrainingTest {
    static M6Config config() {
        M6Config c = TestPresets.get("micro-moe");
        MoeConfig m = c.moe();
        m = new MoeConfig(m.experts(), m.every(), m.topK(), m.prototypes(), m.capacityFactorTrain(), m.capacityFactorEval(),
                m.minCapacity(), m.dropTokens(), 0, 0, 1, 0.01, true);          // no aux or z loss: the bias balances
        return c.withMoe(m);
    }

    @BeforeAll static void corpus() throws IOException { TrainerTest.corpus(); }

    @Test void biasBalancedDroplessTrainingWithSharedExpertsResumesExactly(@TempDir Path dir) throws IOException {
        M6Config c = config();
        Trainer full = new Trainer(c, TrainerTest.opts(dir.resolve("a"), 8, 4), false, TrainerTest.QUIET);
        full.run(8);
        List<StepRecord> a = full.history();
        assertThat(a).allSatisfy(r -> assertThat(r.aux()).as("no auxiliary loss").isZero());

        Trainer first = new Trainer(c, TrainerTest.opts(dir.resolve("b"), 8, 4), false, TrainerTest.QUIET);
        first.run(4);
        Trainer resumed = new Trainer(c, TrainerTest.opts(dir.resolve("b"), 8, 4), true, TrainerTest.QUIET);
        resumed.run(8);
        List<StepRecord> b = resumed.history();
        for (int i = 0; i < 8; i++) assertThat(b.get(i).loss()).as("loss at step %d", i).isEqualTo(a.get(i).loss());

        var ta = Safetensors.read(Checkpoint.latest(dir.resolve("a")).orElseThrow().resolve(Checkpoint.MODEL)).tensors();
        var tb = Safetensors.read(Checkpoint.latest(dir.resolve("b")).orElseThrow().resolve(Checkpoint.MODEL)).tensors();
        assertThat(ta).containsKeys("blocks.0.moe.router.bias", "blocks.1.moe.router.bias", "blocks.0.moe.shared.fc1.weight");
        double[] bias = Tensors.toDoubles(ta.get("blocks.0.moe.router.bias").to(org.bytedeco.pytorch.global.torch.ScalarType.Double));
        assertThat(java.util.Arrays.stream(bias).map(Math::abs).max().orElse(0)).as("8 updates moved the routing bias").isGreaterThan(0.005);
        for (String name : ta.keySet())
            assertThat(Tensors.toDoubles(tb.get(name).to(org.bytedeco.pytorch.global.torch.ScalarType.Double)))
                    .as(name).containsExactly(Tensors.toDoubles(ta.get(name).to(org.bytedeco.pytorch.global.torch.ScalarType.Double)));
    }
}
