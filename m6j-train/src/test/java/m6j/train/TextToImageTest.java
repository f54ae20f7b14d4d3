package m6j.train;

import m6j.TestPresets;
import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.data.Split;
import m6j.infer.Captioner;
import m6j.infer.Engine;
import m6j.infer.Event;
import m6j.infer.Request;
import m6j.infer.Imaginer;
import m6j.infer.Sampling;
import m6j.model.M6Config;
import m6j.vq.ImageVocab;
import m6j.vq.VqCheckpoint;
import m6j.vq.VqConfig;
import m6j.vq.VqTrainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Stage two end to end on the committed sample: a VQGAN, then one M6 checkpoint that both captions and draws. */
public class TextToImageTest {
    static final M6Config MICRO_T2I = TestPresets.get("micro-t2i");
    static Path run;

    @BeforeAll static void trainBothStages() throws IOException { run = trainedRun(); }

    private static Path trained;

    /** The stage-two run (VQGAN, then 6 steps of itt + t2i), trained once per test JVM under target/; others use it too. */
    public static synchronized Path trainedRun() throws IOException {
        if (trained != null) return trained;
        Files.createDirectories(Path.of("target"));
        Path dir = Files.createTempDirectory(Path.of("target"), "t2i-run-");
        TrainerTest.corpus();
        Corpus c = Corpus.open(TrainerTest.corpus);
        List<byte[]> imgs = c.examples(Split.TRAIN).stream().filter(e -> e.image() != null).map(e -> e.image()).toList();
        List<byte[]> held = c.examples(Split.TEST).stream().filter(e -> e.image() != null).map(e -> e.image()).limit(8).toList();
        Path vq = dir.resolve("vq");
        new VqTrainer(VqConfig.preset("colour32"), new VqTrainer.Options(vq, 3, 4, 1e-3, 1, 1, 100, 1e9), imgs, held, TrainerTest.QUIET).run();
        assertThat(VqCheckpoint.isCheckpoint(vq)).isTrue();
        assertThat(vq.resolve("recon-step-000003.png")).exists();
        Path run = dir.resolve("run");
        ImageVocab v = ImageVocab.setup(run, vq);
        assertThat(v.codes()).isEqualTo(64);
        TrainOptions o = TrainerTest.opts(run, 6, 6).toBuilder().keepCheckpoints(2).mixture("itt=1,t2i=1").build();
        Trainer t = new Trainer(MICRO_T2I, o, false, TrainerTest.QUIET);
        t.run(6);
        assertThat(t.history()).extracting(StepRecord::objective).contains("t2i", "itt");
        assertThat(t.history()).allSatisfy(r -> assertThat(r.loss()).isFinite());
        assertThat(t.model().config.vocabSize()).isEqualTo(t.tokenizer().vocabSize() + 512);
        assertThat(run.resolve("image-codes.bin")).exists();
        return trained = run;
    }

    @Test void oneCheckpointCaptionsAndDraws() throws Exception {
        try (Imaginer im = Imaginer.load(run)) {                            // from the run directory alone
            List<byte[]> imgs = im.images("a coat", 3, new Imaginer.Options(new Sampling(1, 0, 1, 5), 3.0));
            assertThat(imgs).hasSize(3).allSatisfy(b -> assertThat(b).hasSize(32 * 32 * 3));
            List<String> caps = new Captioner(im.engine).caption(List.of(imgs.get(0)), Sampling.greedy());
            assertThat(caps).hasSize(1);                                    // text only: never an image-code token
        }
    }

    @Test void sameSeedSameImagesOtherSeedOtherImages() throws Exception {
        try (Imaginer im = Imaginer.load(run)) {
            var o5 = new Imaginer.Options(new Sampling(1, 0, 1, 5), 3.0);
            List<byte[]> a = im.images("a coat", 2, o5), b = im.images("a coat", 2, o5);
            List<byte[]> c = im.images("a coat", 2, new Imaginer.Options(new Sampling(1, 0, 1, 6), 3.0));
            for (int i = 0; i < 2; i++) assertThat(b.get(i)).isEqualTo(a.get(i));
            assertThat(im.codes("a coat", 2, o5)).isNotEqualTo(im.codes("a coat", 2, new Imaginer.Options(new Sampling(1, 0, 1, 6), 3.0)));
            assertThat(c).hasSize(2);
        }
    }

    /**
     * Image codes decode in the same batched steps as text: drawn while text requests run, a guided grid is the one
     * drawn alone, and the texts are the ones generated alone.
     */
    @Test void imageCodesAndTextDecodeTogetherAndGiveWhatEachGivesAlone() throws Exception {
        try (Imaginer im = Imaginer.load(run)) {
            Engine e = im.engine;
            var o = new Imaginer.Options(new Sampling(1, 0, 1, 5), 3.0);
            long[][] alone = im.codes("a coat", 2, o);
            List<Request> texts = new ArrayList<>();
            for (int i = 0; i < 4; i++) texts.add(Request.text(i, e.prompt(i % 2 == 0 ? "a" : "the coat"), null, 40, new Sampling(0.9, 0, 1, i)));
            List<String> textAlone = e.run(texts).stream().map(Event.Done::text).toList();
            LinkedBlockingQueue<Event> q = new LinkedBlockingQueue<>();
            List<Request> again = new ArrayList<>();
            for (int i = 0; i < 4; i++) again.add(Request.text(i, e.prompt(i % 2 == 0 ? "a" : "the coat"), null, 40, new Sampling(0.9, 0, 1, i)).to(q, true));
            e.submit(again);                                                // running when the images arrive
            long[][] together = im.codes("a coat", 2, o);
            String[] got = new String[4];
            int tokens = 0;
            for (int done = 0; done < 4; ) {
                Event ev = q.poll(30, TimeUnit.SECONDS);
                assertThat(ev).as("an event within 30 s").isNotNull();
                if (ev instanceof Event.Token) tokens++;
                if (ev instanceof Event.Done d) { got[d.index()] = d.text(); done++; }
            }
            assertThat(together).isEqualTo(alone);
            assertThat(got).containsExactlyElementsOf(textAlone);
            assertThat(tokens).as("text streamed while the grid was drawn").isPositive();
        }
    }

    @Test void emptyOrOverLongPromptsAreRefusedWithAClearMessage() throws Exception {
        try (Imaginer im = Imaginer.load(run)) {
            var o = new Imaginer.Options(new Sampling(1, 0, 1, 5), 3.0);
            assertThatThrownBy(() -> im.images("  ", 1, o)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty prompt");
            String longPrompt = "a very long prompt about a coat with many pockets and buttons and a hood and a belt and zips everywhere";
            assertThatThrownBy(() -> im.images(longPrompt, 1, o)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("prompt too long").hasMessageContaining("at most 14");
        }
    }
}
