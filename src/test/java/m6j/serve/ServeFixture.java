package m6j.serve;

import m6j.data.Corpus;
import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.DataRoots;
import m6j.model.M6Config;
import m6j.model.MoeConfig;
import m6j.runtime.Torch;
import m6j.train.Checkpoint;
import m6j.train.TrainOptions;
import m6j.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A real server for tests, built once per test JVM: a corpus from the committed sample, a small MoE model trained
 * a few steps with the real Trainer, a checkpoint loaded back, a Lucene index of the corpus, and the server on a
 * free port with an API key. Image generation uses {@link TestImages} (a stand-in until the VQGAN lands).
 */
final class ServeFixture {
    static final String KEY = "test-key", MODEL = "m6j-test";
    static final M6Config CONFIG = new M6Config("serve-test", 300, 32, 2, 2, 64, 32, 32, 8, 3,
            new MoeConfig(4, 2, 1, 1, 1.25, 2.0, 4, true, 0.01, 0.001), false);
    private static Server server, plain;
    private static Checkpoint.Loaded loaded;
    static Path corpus, index;
    static IndexBuilder.Report indexReport;

    private ServeFixture() {}

    /** The shared server: API key, test image generator, index, body limit 1 MiB. */
    static synchronized Server server() throws Exception {
        if (server == null) {
            Checkpoint.Loaded l = model();
            ServeOptions o = new ServeOptions("127.0.0.1", 0, KEY, MODEL, 1L << 20, 8, new Scheduler.Options(16, 64, 60_000));
            server = new Server(l.model(), l.tokenizer(), new TestImages(), VectorIndex.open(index), o);
        }
        return server;
    }

    /** A second server on the same model without an image generator, index or key (what `m6j serve` gives today). */
    static synchronized Server plain() throws Exception {
        if (plain == null) {
            Checkpoint.Loaded l = model();
            plain = new Server(l.model(), l.tokenizer(), null, null, ServeOptions.defaults(MODEL).withPort(0));
        }
        return plain;
    }

    static synchronized Checkpoint.Loaded model() throws IOException {
        if (loaded != null) return loaded;
        Torch.init();
        Path base = Path.of("target", "serve-fixture");
        corpus = base.resolve("corpus");
        if (!Files.isRegularFile(corpus.resolve("corpus.json")))
            CorpusBuilder.build(new CorpusOptions(DataRoots.sample(Path.of(".")), corpus, 32, 0, 0.05, 150), false);
        Path run = base.resolve("run-" + ProcessHandle.current().pid());
        TrainOptions o = new TrainOptions(corpus, run, 12, 8, 1, 3e-3, 1e-4, 2, 0.05, 1.0, 7, 12, 1,
                TrainOptions.parseMixture("itt=1,mtt=1,denoise=1,lm=1"), 8, 0);
        new Trainer(CONFIG, o, false, new PrintStream(java.io.OutputStream.nullOutputStream())).run(12);
        loaded = Checkpoint.load(run);
        index = base.resolve("index-" + ProcessHandle.current().pid());
        indexReport = IndexBuilder.build(new Embedder(loaded.model(), loaded.tokenizer()), Corpus.open(corpus), index, 40,
                new PrintStream(java.io.OutputStream.nullOutputStream()));
        return loaded;
    }

    /** A stand-in generator: n solid-colour PNGs from the prompt's hash (the real one comes with issue 5). */
    static final class TestImages implements ImageGenerator {
        @Override public String size() { return "32x32"; }

        @Override public List<byte[]> generate(String prompt, int n, long seed) {
            List<byte[]> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] rgb = new byte[32 * 32 * 3];
                int h = (prompt + i + seed).hashCode();
                for (int p = 0; p < rgb.length; p += 3) { rgb[p] = (byte) h; rgb[p + 1] = (byte) (h >> 8); rgb[p + 2] = (byte) (h >> 16); }
                out.add(ImageInput.png(rgb, 32));
            }
            return out;
        }
    }

    /** A PNG from the committed Open Clip Art sample. */
    static Path samplePng() throws IOException {
        try (var s = Files.walk(Path.of("data/sample/openclipart/png"))) {
            return s.filter(p -> p.toString().endsWith(".png")).sorted().findFirst().orElseThrow();
        }
    }
}
