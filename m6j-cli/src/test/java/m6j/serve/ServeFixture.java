package m6j.serve;

import m6j.infer.Embedder;
import m6j.infer.Engine;

import m6j.TestPresets;
import m6j.checkpoint.Checkpoint;
import m6j.data.Corpus;
import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.DataRoots;
import m6j.data.Split;
import m6j.model.M6Config;
import m6j.runtime.Torch;
import m6j.train.TrainOptions;
import m6j.train.Trainer;
import m6j.vq.ImageVocab;
import m6j.vq.VqConfig;
import m6j.vq.VqTrainer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real server for tests, built once per test JVM: a corpus from the committed sample, a small MoE model trained
 * a few steps with the real Trainer, a checkpoint loaded back, a Lucene index of the corpus, and the server on a
 * free port with an API key. The run is trained with a (briefly trained) VQGAN and the t2i objective beside the text
 * ones, so /v1/images/generations goes through the real two-stage generator.
 */
final class ServeFixture {
    static final String KEY = "test-key", MODEL = "m6j-test";
    static final M6Config CONFIG = TestPresets.get("serve-test");
    private static Server server, plain;
    private static Checkpoint.Loaded loaded;
    static Path corpus, index, run;
    static IndexBuilder.Report indexReport;

    private ServeFixture() {}

    /** The shared server: API key, test image generator, index, body limit 1 MiB. */
    static synchronized Server server() throws Exception {
        if (server == null) {
            Checkpoint.Loaded l = model();
            ServeOptions o = new ServeOptions("127.0.0.1", 0, KEY, MODEL, 1L << 20, 8, new Engine.Options(16, 64, 60_000), List.of("gpt-4o-mini"));
            server = new Server(l, true, VectorIndex.open(index), o);
        }
        return server;
    }

    /** A second server on the same model without an image generator, index or key (what `m6j serve` gives today). */
    static synchronized Server plain() throws Exception {
        if (plain == null) {
            Checkpoint.Loaded l = model();
            plain = new Server(l, false, null, ServeOptions.defaults(MODEL).withPort(0));
        }
        return plain;
    }

    static synchronized Checkpoint.Loaded model() throws IOException {
        if (loaded != null) return loaded;
        Torch.init();
        Path base = Path.of("target", "serve-fixture");
        // Built afresh by every test JVM: a corpus left by older code (another record order) would train another model.
        corpus = base.resolve("corpus-" + ProcessHandle.current().pid());
        CorpusBuilder.build(new CorpusOptions(DataRoots.sample(Path.of(".")), corpus, 32, 0, 0.05, 150), false);
        run = base.resolve("run-" + ProcessHandle.current().pid());
        Path vq = base.resolve("vq-" + ProcessHandle.current().pid());
        Corpus c = Corpus.open(corpus);
        List<byte[]> imgs = c.examples(Split.TRAIN).stream().filter(e -> e.image() != null).map(e -> e.image()).toList();
        new VqTrainer(VqConfig.preset("colour32"), new VqTrainer.Options(vq, 3, 4, 1e-3, 1, 1, 100, 1e9), imgs, imgs.subList(0, 4),
                new PrintStream(OutputStream.nullOutputStream())).run();
        ImageVocab.setup(run, vq);
        TrainOptions o = TrainOptions.builder(corpus, run).steps(12).batchSize(8).lr(3e-3).warmup(2).seed(7).checkpointEvery(12)
                .keepCheckpoints(1).mixture("itt=1,mtt=1,denoise=1,lm=1,t2i=1").sentinels(8).build();
        new Trainer(CONFIG, o, false, new PrintStream(OutputStream.nullOutputStream())).run(12);
        loaded = Checkpoint.load(run);
        index = base.resolve("index-" + ProcessHandle.current().pid());
        indexReport = IndexBuilder.build(Embedder.of(loaded.model(), loaded.tokenizer()), Corpus.open(corpus), index, 40,
                new PrintStream(OutputStream.nullOutputStream()));
        return loaded;
    }

    /** A PNG from the committed Open Clip Art sample. */
    static Path samplePng() throws IOException {
        try (var s = Files.walk(Path.of("data/sample/openclipart/png"))) {
            return s.filter(p -> p.toString().endsWith(".png")).sorted().findFirst().orElseThrow();
        }
    }
}
