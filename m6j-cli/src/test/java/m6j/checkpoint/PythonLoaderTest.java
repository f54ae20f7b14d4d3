package m6j.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.TestPresets;
import m6j.cli.Main;
import m6j.data.CorpusBuilder;
import m6j.data.CorpusOptions;
import m6j.data.DataRoots;
import m6j.model.ForwardContext;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.model.PrefixMask;
import m6j.model.Presets;
import m6j.runtime.Json;
import m6j.runtime.Safetensors;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import m6j.train.TrainOptions;
import m6j.train.Trainer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A checkpoint a Python user can load: models trained for a few steps with the real trainer (MoE, dense, shared
 * layers, and MoE expert-parallel in two processes) are saved, m6j computes logits on fixed images and tokens, and
 * python/m6j_load.py (Debian's /usr/bin/python3 with python3-torch) loads the checkpoint directory into a torch
 * module and reproduces them to 1e-5; it also exports the module to ONNX and runs the exported graph
 * (python/m6j_onnx.py). The Python part is skipped where that python has
 * no torch, except on CI (CI set), where .ci/run installs it and its absence fails.
 */
class PythonLoaderTest {
    /** Debian's python (-Dm6j.python=... for another one). */
    static final Path PYTHON = Path.of(System.getProperty("m6j.python", "/usr/bin/python3")), LOADER = Path.of("python", "m6j_load.py");
    static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    static final double TOLERANCE = 1e-5;
    static Path corpus;

    @BeforeAll static void setUp() throws IOException {
        Torch.init();
        corpus = Path.of("target", "test-corpus-python-loader");
        CorpusBuilder.build(new CorpusOptions(DataRoots.sample(Path.of(".")), corpus, 32, 0, 0.05, 150), false);
    }

    /** A checkpoint of config after 4 real training steps (biases and norms no longer at their initial values). */
    static Path trained(M6Config config, Path run) throws IOException {
        TrainOptions o = TrainOptions.builder(corpus, run).steps(4).batchSize(4).lr(3e-3).warmup(1).seed(7).checkpointEvery(4)
                .keepCheckpoints(1).mixture("itt=1,lm=1").sentinels(8).build();
        new Trainer(config, o, false, QUIET).run(4);
        return Checkpoint.latest(run).orElseThrow();
    }

    @Test void checkpointFilesCarryWhatHuggingFaceLoadersLookFor(@TempDir Path dir) throws IOException {
        Path ckpt = trained(TestPresets.get("micro"), dir.resolve("run"));
        try (Safetensors.Reader r = new Safetensors.Reader(ckpt.resolve(Checkpoint.MODEL))) {
            assertThat(r.metadata()).containsEntry("format", "pt").containsEntry("m6j", "model").containsEntry("step", "4");
        }
        try (Safetensors.Reader r = new Safetensors.Reader(ckpt.resolve(Checkpoint.OPTIMIZER))) {
            assertThat(r.metadata()).containsEntry("format", "pt").containsEntry("optimizer", "adamw");
        }
        JsonNode config = Json.MAPPER.readTree(ckpt.resolve(Checkpoint.CONFIG).toFile());
        assertThat(config.path("model_type").asText()).isEqualTo("m6j");
        assertThat(config.path("architectures").toString()).isEqualTo("[\"M6ForPrefixLM\"]");
        assertThat(config.path("dModel").asInt()).as("the shape's own fields beside them").isEqualTo(32);
        JsonNode tc = Json.MAPPER.readTree(ckpt.resolve(Checkpoint.TOKENIZER_CONFIG).toFile());
        for (String k : List.of("bos_token", "eos_token", "pad_token", "chat_template"))
            assertThat(tc.path(k).asText()).as(k).isNotBlank();

        // A config.json from before model_type and architectures still loads, to the same model.
        ObjectNode old = (ObjectNode) config.deepCopy();
        old.remove(List.of("model_type", "architectures"));
        Files.writeString(ckpt.resolve(Checkpoint.CONFIG), old.toPrettyString());
        assertThat(Checkpoint.load(ckpt).model().config).isEqualTo(Presets.fromJson(config));
    }

    @Test void pythonReproducesTheLogitsOfMoeDenseAndSharedLayerModelsAndExportsThemToOnnx(@TempDir Path dir) throws Exception {
        assumePythonWithTorch();
        List<String> report = new ArrayList<>();
        M6Config moe = TestPresets.get("micro");
        for (var c : List.of(Map.entry("moe", moe), Map.entry("dense", TestPresets.get("micro", Map.of("moe.experts", 0))),
                Map.entry("shared-layers", moe.withShareLayers(true)),
                Map.entry("k-top-1", TestPresets.get("micro", Map.of("moe.prototypes", 2))),
                // shared experts, a routing bias moved by 4 balancing updates, dropless training
                Map.entry("shared-bias-dropless", TestPresets.get("micro", Map.of("moe.sharedExperts", 1, "moe.biasUpdateRate", 0.01, "moe.dropless", true))))) {   // top-1 in each of 2 groups     // every block block 0's weights, its FFN or MoE
            Path ckpt = trained(c.getValue(), dir.resolve(c.getKey()));
            Path expected = dir.resolve(c.getKey() + "-logits.safetensors"), onnx = dir.resolve(c.getKey() + ".onnx");
            writeExpected(Checkpoint.load(ckpt).model(), expected);
            JsonNode r = python(ckpt, expected, onnx);
            report.add(c.getKey() + ": " + r);
            assertThat(r.path("maxAbsDiff").asDouble(1)).as("%s: image+text logits, Java vs Python", c.getKey()).isLessThan(TOLERANCE);
            assertThat(r.path("textMaxAbsDiff").asDouble(1)).as("%s: text-only logits", c.getKey()).isLessThan(TOLERANCE);
            assertThat(r.path("onnx").path("checked").asBoolean()).as("%s: onnx.checker accepts the export", c.getKey()).isTrue();
            assertThat(r.path("onnx").path("maxAbsDiff").asDouble(1)).as("%s: the ONNX graph run vs m6j", c.getKey()).isLessThan(TOLERANCE);
        }
        System.out.println("PythonLoaderTest: " + String.join("; ", report));
    }

    /**
     * An expert-parallel checkpoint (two real worker processes, --ep 2): model.safetensors.index.json lists every
     * tensor in the one file that holds it, each expert's weights under their own name; Java and Python load it whole.
     * The layout before the index (each shard's slice under the batched name) still loads in both.
     */
    @Test void anExpertParallelCheckpointHasAnIndexAndLoadsInJavaAndPython(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("micro.json"), run = dir.resolve("ep2");
        Presets.write(TestPresets.get("micro"), config);
        int rc = Main.commandLine().execute("launch", "--nproc", "2", "--master", "127.0.0.1:" + freePort(), "--threads-per-proc", "1",
                "train", "--config", config.toString(), "--corpus", corpus.toString(), "--run", run.toString(), "--steps", "4",
                "--batch-size", "4", "--warmup", "1", "--lr", "3e-3", "--checkpoint-every", "4", "--mixture", "itt=1,lm=1",
                "--threads", "1", "--ep", "2");
        assertThat(rc).isZero();
        Path ck = Checkpoint.latest(run).orElseThrow();
        JsonNode index = Json.MAPPER.readTree(ck.resolve(Checkpoint.INDEX).toFile());
        Map<String, List<String>> byFile = new TreeMap<>();
        index.path("weight_map").fields().forEachRemaining(e -> byFile.computeIfAbsent(e.getValue().asText(), f -> new ArrayList<>()).add(e.getKey()));
        assertThat(byFile).containsOnlyKeys(Checkpoint.MODEL, "experts-00-of-02.safetensors", "experts-01-of-02.safetensors");
        assertThat(byFile.get("experts-01-of-02.safetensors")).contains("blocks.1.moe.experts.2.w1", "blocks.1.moe.experts.3.b2")
                .doesNotContain("blocks.1.moe.w1");
        long bytes = 0;
        for (var f : byFile.entrySet()) {
            try (Safetensors.Reader r = new Safetensors.Reader(ck.resolve(f.getKey()))) {
                assertThat(r.names()).as("%s holds what the index says", f.getKey()).containsExactlyInAnyOrderElementsOf(f.getValue());
                assertThat(r.metadata()).containsEntry("format", "pt");
                for (String n : r.names()) bytes += r.info(n).end() - r.info(n).start();
            }
        }
        assertThat(index.path("metadata").path("total_size").asLong()).isEqualTo(bytes);
        M6Model full = Checkpoint.load(ck).model();
        Path expected = dir.resolve("ep2-logits.safetensors");
        writeExpected(full, expected);

        // The same weights in the layout from before the index: each shard's two experts under the batched names.
        Path old = dir.resolve("old-layout");
        Files.createDirectories(old);
        try (var files = Files.list(ck)) {
            for (Path f : files.toList()) Files.copy(f, old.resolve(f.getFileName()));
        }
        Files.delete(old.resolve(Checkpoint.INDEX));
        for (int s = 0; s < 2; s++) {
            Map<String, Tensor> slice = new LinkedHashMap<>();
            for (var e : full.params.named().entrySet())
                if (full.params.isSharded(e.getKey())) slice.put(e.getKey(), e.getValue().detach().narrow(0, 2L * s, 2).contiguous());
            Safetensors.write(old.resolve("experts" + Checkpoint.shardSuffix(s, 2)), slice, Checkpoint.metadata(4));
        }
        M6Model reloaded = Checkpoint.load(old).model();
        for (var e : full.params.named().entrySet())
            assertThat(Tensors.toFloats(reloaded.params.get(e.getKey()))).as(e.getKey()).containsExactly(Tensors.toFloats(e.getValue()));

        assumePythonWithTorch();
        for (Path c : List.of(ck, old)) {
            JsonNode r = python(c, expected, dir.resolve(c.getFileName() + ".onnx"));
            System.out.println("PythonLoaderTest: ep2 " + c.getFileName() + ": " + r);
            assertThat(r.path("maxAbsDiff").asDouble(1)).as("%s: logits, Java vs Python", c).isLessThan(TOLERANCE);
            assertThat(r.path("textMaxAbsDiff").asDouble(1)).isLessThan(TOLERANCE);
            assertThat(r.path("onnx").path("maxAbsDiff").asDouble(1)).isLessThan(TOLERANCE);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) { return s.getLocalPort(); }
    }

    /** Fixed inputs and m6j's logits for them (as inference computes them) into one safetensors file. */
    static void writeExpected(M6Model m, Path file) throws IOException {
        M6Config c = m.config;
        int b = 2, t = 10, p = c.patches();
        Random rnd = new Random(42);
        byte[] pixels = new byte[b * c.imageSize() * c.imageSize() * c.channels()];
        rnd.nextBytes(pixels);
        long[] ids = new long[b * t];
        for (int i = 0; i < ids.length; i++) ids[i] = 1 + rnd.nextInt(c.vocabSize() - 1);
        int[] prefix = {p + 1, p + 4}, textPrefix = {1, 3};
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
            Tensor images = Tensors.fromBytes(pixels, ScalarType.Byte, b, c.imageSize(), c.imageSize(), c.channels());
            Tensor tokens = Tensors.longs(ids, b, t);
            Tensor logits = m.logits(m.forward(images, tokens, 0, PrefixMask.of(prefix, p + t, 0), null, ForwardContext.serving()));
            Tensor text = m.logits(m.forward(null, tokens, 0, PrefixMask.of(textPrefix, t, 0), null, ForwardContext.serving()));
            out.put("images", images);
            out.put("tokens", tokens);
            out.put("prefix", Tensors.longs(new long[]{prefix[0], prefix[1]}, b));
            out.put("logits", logits.contiguous());
            out.put("text_prefix", Tensors.longs(new long[]{textPrefix[0], textPrefix[1]}, b));
            out.put("text_logits", text.contiguous());
            Safetensors.write(file, out, Map.of("m6j", "expected-logits"));
        }
    }

    /** python/m6j_load.py --check: its last stdout line is a JSON report. */
    static JsonNode python(Path ckpt, Path expected, Path onnx) throws Exception {
        Process pr = new ProcessBuilder(PYTHON.toString(), LOADER.toString(), ckpt.toString(), "--check", expected.toString(),
                "--onnx", onnx.toString()).redirectErrorStream(true).start();
        pr.getOutputStream().close();
        String output = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(pr.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(pr.exitValue()).as("python exited non-zero:%n%s", output).isZero();
        List<String> lines = output.lines().filter(l -> l.startsWith("{")).toList();
        assertThat(lines).as("a JSON report in:%n%s", output).isNotEmpty();
        return Json.MAPPER.readTree(lines.get(lines.size() - 1));
    }

    static void assumePythonWithTorch() throws Exception { m6j.train.PythonAgreementTest.assumePython("torch, numpy, onnx", "python3-torch python3-onnx"); }
}
