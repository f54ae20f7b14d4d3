package m6j.infer;

import m6j.TestPresets;
import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.DataRoots;
import m6j.runtime.Torch;
import m6j.train.TrainOptions;
import m6j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The itc objective makes a space retrieval can use: a micro model trained on it alone classifies held-out
 * Fashion-MNIST images from the class names alone well above chance, and far better than the pooled states of the
 * same model; every figure of the report is a share in [0, 1] with its chance.
 */
class RetrievalTest {
    @Test void contrastiveTrainingAlignsImagesWithTheirClassNames(@TempDir Path dir) throws Exception {
        Torch.init();
        Path corpus = dir.resolve("corpus"), run = dir.resolve("run");
        CorpusBuilder.build(new CorpusOptions(DataRoots.sample(Path.of(".")), corpus, 32, 0, 0.05, 1500), false);
        TrainOptions o = TrainOptions.builder(corpus, run).steps(200).batchSize(32).lr(2e-3).warmup(10).seed(3)
                .checkpointEvery(200).keepCheckpoints(1).mixture("itc=1").build();
        new Trainer(TestPresets.get("micro"), o, false, new PrintStream(OutputStream.nullOutputStream())).run(200);
        Checkpoint.Loaded l = Checkpoint.load(run);
        Corpus c = Corpus.open(corpus);
        List<Retrieval.Result> aligned = new Retrieval(new Embedder(l.model(), l.tokenizer(), Embedder.Space.ALIGNED), c, 200).run();
        List<Retrieval.Result> pooled = new Retrieval(new Embedder(l.model(), l.tokenizer(), Embedder.Space.POOLED), c, 200).run();
        for (Retrieval.Result r : aligned) {
            assertThat(List.of(r.at1(), r.at5(), r.at10(), r.chance10())).allSatisfy(x -> assertThat(x).isBetween(0.0, 1.0));
            if (!r.task().contains("precision")) assertThat(r.at1()).as(r.task()).isLessThanOrEqualTo(r.at5());   // recall grows with k
        }
        double byRetrieval = find(aligned, "image->class (en)").at1(), pooledAcc = find(pooled, "image->class (en)").at1();
        assertThat(byRetrieval).as("classification by retrieval, aligned (chance 0.1)").isGreaterThan(0.25);
        assertThat(byRetrieval).as("aligned vs pooled").isGreaterThan(pooledAcc + 0.1);
        assertThat(find(aligned, "image->class (en)").gallery()).isEqualTo(10);
    }

    static Retrieval.Result find(List<Retrieval.Result> rs, String task) {
        return rs.stream().filter(r -> r.source().equals("fashion-mnist") && r.task().equals(task)).findFirst().orElseThrow();
    }

    @Test void promptsNameTheClassWithItsArticleInEitherLanguage() {
        assertThat(Retrieval.prompt("a photo of {}.", "ankle boot")).isEqualTo("a photo of an ankle boot.");
        assertThat(Retrieval.prompt("{}", "trousers")).isEqualTo("a pair of trousers");
        assertThat(Retrieval.prompt("一张{zh}的照片", "sandal")).isEqualTo("一张凉鞋的照片");
        assertThat(Retrieval.prompt("{}", "owl")).isEqualTo("an owl");
    }

    @Test void rankCountsTiesAgainstTheTarget() {
        List<float[]> g = List.of(new float[]{1, 0}, new float[]{0, 1}, new float[]{1, 0});
        assertThat(Retrieval.rank(new float[]{1, 0}, g, 0)).isEqualTo(1);       // item 2 ties with it
        assertThat(Retrieval.rank(new float[]{0, 1}, g, 1)).isZero();
        assertThat(Retrieval.order(new float[]{0, 1}, g)[0]).isEqualTo(1);
    }
}
