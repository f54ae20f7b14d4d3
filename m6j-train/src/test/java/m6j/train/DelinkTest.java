package m6j.train;

import m6j.checkpoint.Checkpoint;
import m6j.model.ForwardContext;
import m6j.model.M6Model;
import m6j.runtime.Tensors;
import m6j.task.Batch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class DelinkTest {
    @Test void delinkedModelComputesExactlyThePseudoModelsFunctionAndTrainsOn(@TempDir Path dir) throws IOException {
        TrainerTest.corpus();
        Path pseudoRun = dir.resolve("pseudo");
        Trainer t = new Trainer(TrainerTest.MICRO.withShareLayers(true), TrainerTest.opts(pseudoRun, 4, 4), false, TrainerTest.QUIET);
        t.run(4);
        M6Model pseudo = t.model();
        assertThat(pseudo.params.named().keySet()).noneMatch(n -> n.startsWith("blocks.1."));

        Path realRun = dir.resolve("real");
        Delink.run(pseudoRun, realRun);
        Checkpoint.Loaded real = Checkpoint.load(realRun);
        assertThat(real.model().config.shareLayers()).isFalse();
        assertThat(real.model().params.count()).isGreaterThan(pseudo.params.count());

        Batch b = TrainBench.batch(pseudo.config, 3, 10, new Random(5));
        try (NoGradGuard ng = new NoGradGuard(); PointerScope s = new PointerScope()) {
            float[] a = Tensors.toFloats(pseudo.forward(b.images(), b.tokens(), 0, b.mask(), null, ForwardContext.eval()));
            float[] c = Tensors.toFloats(real.model().forward(b.images(), b.tokens(), 0, b.mask(), null, ForwardContext.eval()));
            assertThat(c).containsExactly(a);
        }
        Trainer after = new Trainer(TrainerTest.MICRO, TrainerTest.opts(realRun, 7, 4), true, TrainerTest.QUIET);
        assertThat(after.step()).isEqualTo(4);
        after.run(7);
        assertThat(after.history()).hasSize(3);              // the pseudo run's metrics stayed with the pseudo run
        assertThat(after.history().get(2).loss()).isFinite();
    }
}
