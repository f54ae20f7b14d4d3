package m6j.train;

import m6j.checkpoint.Checkpoint;
import m6j.cli.Main;
import m6j.model.ForwardContext;
import m6j.model.Lora;
import m6j.model.M6Model;
import m6j.model.PrefixMask;
import m6j.runtime.Safetensors;
import m6j.runtime.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import m6j.runtime.Json;
import m6j.data.ChatTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/** `m6j finetune` from a trained checkpoint: LoRA trains only the adapter, resumes exactly, merges into the same logits. */
class FinetuneTest {
    static Path base;

    @BeforeAll static void base(@TempDir Path dir) throws Exception {
        TrainerTest.corpus();
        base = dir.resolve("base");
        new Trainer(TrainerTest.MICRO, TrainerTest.opts(base, 6, 6), false, TrainerTest.QUIET).run(6);
    }

    static int cli(String... args) { return Main.commandLine().execute(args); }

    static List<String> finetune(Path run, int steps, String task, String... extra) {
        List<String> a = new ArrayList<>(List.of("finetune", "--from", base.toString(), "--data", TrainerTest.corpus.toString(), "--run", run.toString(),
                "--task", task, "--steps", "" + steps, "--batch-size", "4", "--warmup", "1", "--checkpoint-every", "3", "--seed", "5"));
        a.addAll(List.of(extra));
        return a;
    }

    static float[] logits(M6Model m, Lora a) {
        ForwardContext ctx = ForwardContext.serving().adapter(a);
        try (NoGradGuard ng = new NoGradGuard()) {
            torch.manual_seed(3);
            Tensor img = torch.randint(0, 256, new long[]{1, 32, 32, 3}).to(ScalarType.Byte);
            long[] toks = {1, 5, 9, 3, 7, 2};
            int s = m.config.patches() + toks.length;
            Tensor h = m.forward(img, Tensors.longs(toks, 1, toks.length), 0, PrefixMask.of(new int[]{s - 2}, s, 0), null, ctx);
            return Tensors.toFloats(m.logits(h, ctx));
        }
    }

    @Test void loraTrainsOnlyTheAdapterResumesExactlyAndMergesIntoTheSameLogits(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("lora"), again = dir.resolve("lora-resumed");
        assertThat(cli(finetune(run, 6, "chat", "--lr", "3e-3", "--lora", "4").toArray(String[]::new))).isZero();
        Path ckpt = Checkpoint.latest(run).orElseThrow();
        assertThat(ckpt.resolve(Lora.WEIGHTS)).exists();
        assertThat(ckpt.resolve(Lora.CONFIG)).exists();
        assertThat(ckpt.resolve(Checkpoint.MODEL)).as("no copy of the base weights").doesNotExist();
        var tc = Json.MAPPER.readTree(ckpt.resolve(Checkpoint.TOKENIZER_CONFIG).toFile());
        assertThat(tc.path("chat_template").asText()).isEqualTo(ChatTemplate.JINJA);
        assertThat(tc.path("eos_token").asText()).isEqualTo("<eos>");
        assertThat(Lora.describe(ckpt).base()).isEqualTo(Checkpoint.resolve(base).toAbsolutePath().normalize());
        Map<String, Tensor> trained = Safetensors.read(ckpt.resolve(Lora.WEIGHTS)).tensors();
        assertThat(trained.keySet()).allMatch(k -> k.startsWith("base_model.model.") && k.contains(".lora_"));
        double bNorm = trained.entrySet().stream().filter(e -> e.getKey().endsWith("lora_B.weight"))
                .mapToDouble(e -> e.getValue().abs().sum().item_double()).sum();
        assertThat(bNorm).as("B moved away from zero").isPositive();

        // interrupted at step 3, resumed to 6: the same adapter bit for bit
        assertThat(cli("finetune", "--data", TrainerTest.corpus.toString())).as("no --from: usage, exit 2").isEqualTo(2);
        List<String> first = finetune(again, 6, "chat", "--lr", "3e-3", "--lora", "4", "--max-seconds", "1e-9");
        assertThat(cli(first.toArray(String[]::new))).isZero();
        assertThat(Checkpoint.latest(again).orElseThrow().getFileName().toString()).isEqualTo("step-000001");
        List<String> rest = finetune(again, 6, "chat", "--lr", "3e-3", "--lora", "4", "--resume");
        assertThat(cli(rest.toArray(String[]::new))).isZero();
        Map<String, Tensor> resumed = Safetensors.read(Checkpoint.latest(again).orElseThrow().resolve(Lora.WEIGHTS)).tensors();
        for (var e : trained.entrySet()) assertThat(Tensors.toFloats(resumed.get(e.getKey()))).as(e.getKey()).containsExactly(Tensors.toFloats(e.getValue()));

        // merged checkpoint = base + adapter, to 1e-5
        Path merged = dir.resolve("merged");
        assertThat(cli("merge", "-m", run.toString(), "-o", merged.toString())).isZero();
        M6Model plain = Checkpoint.load(base).model();
        float[] withAdapter = logits(plain, Lora.load(ckpt, plain)), fromMerged = logits(Checkpoint.load(merged).model(), null);
        double max = 0, moved = 0;
        float[] before = logits(plain, null);
        for (int i = 0; i < withAdapter.length; i++) {
            max = Math.max(max, Math.abs(withAdapter[i] - fromMerged[i]));
            moved = Math.max(moved, Math.abs(withAdapter[i] - before[i]));
        }
        assertThat(max).as("merged vs base + adapter").isLessThan(1e-5);
        assertThat(moved).as("the adapter changed the model").isGreaterThan(1e-4);
        assertThat(Files.readString(run.resolve("metrics.jsonl"))).contains("\"vqa\"");

        // the adapter run is a checkpoint like any other: full fine-tuning starts from base + adapter
        Path onTop = dir.resolve("full-on-lora");
        assertThat(cli("finetune", "--from", run.toString(), "--data", TrainerTest.corpus.toString(), "--run", onTop.toString(), "--task", "caption",
                "--steps", "1", "--batch-size", "4", "--lr", "1e-12", "--min-lr", "0", "--checkpoint-every", "1")).isZero();
        Map<String, Tensor> start = Safetensors.read(Checkpoint.latest(onTop).orElseThrow().resolve(Checkpoint.MODEL)).tensors();
        Map<String, Tensor> mergedWeights = Safetensors.read(merged.resolve(Checkpoint.MODEL)).tensors();
        for (var e : mergedWeights.entrySet())
            assertThat(e.getValue().sub(start.get(e.getKey())).abs().max().item_double()).as(e.getKey()).isLessThan(1e-6);
    }

    @Test void fullFineTuningStartsFromTheBaseWeights(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("full");
        // one step at a vanishing learning rate: what is saved is the base, so that is where training started
        assertThat(cli(finetune(run, 1, "caption", "--lr", "1e-12", "--min-lr", "0").toArray(String[]::new))).isZero();
        assertThat(Files.readString(run.resolve("metrics.jsonl"))).contains("\"itt\"");
        Map<String, Tensor> after = Safetensors.read(Checkpoint.latest(run).orElseThrow().resolve(Checkpoint.MODEL)).tensors();
        Map<String, Tensor> before = Safetensors.read(Checkpoint.resolve(base).resolve(Checkpoint.MODEL)).tensors();
        assertThat(after.keySet()).isEqualTo(before.keySet());
        for (var e : before.entrySet())
            assertThat(e.getValue().sub(after.get(e.getKey())).abs().max().item_double()).as(e.getKey()).isLessThan(1e-6);
    }

    @Test void chatOnPromptCompletionPairsTrainsTheChatObjective(@TempDir Path dir) throws Exception {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 60; i++)
            lines.append("{\"prompt\":\"What colour is item ").append(i).append("?\",\"completion\":\"Item ").append(i).append(" is red.\"}\n");
        Path jsonl = dir.resolve("pairs.jsonl"), corpus = dir.resolve("pairs-corpus"), run = dir.resolve("chat");
        Files.writeString(jsonl, lines);
        assertThat(cli("corpus", "build", "--from", jsonl.toString(), "--out", corpus.toString())).isZero();
        assertThat(cli("finetune", "--from", base.toString(), "--data", corpus.toString(), "--run", run.toString(), "--task", "chat",
                "--lora", "2", "--steps", "3", "--batch-size", "4", "--warmup", "1", "--checkpoint-every", "3")).isZero();
        assertThat(Files.readAllLines(run.resolve("metrics.jsonl"))).hasSize(3).allMatch(l -> l.contains("\"chat\""));
    }

    @Test void classifyTrainsLabelWordsAndEvalComparesWithTheBaseline(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("classify");
        assertThat(cli(finetune(run, 2, "classify", "--lora", "2").toArray(String[]::new))).isZero();
        assertThat(Files.readAllLines(run.resolve("metrics.jsonl"))).allMatch(l -> l.contains("\"classify\""));
        assertThat(cli("eval", "classify", "-m", run.toString(), "--corpus", TrainerTest.corpus.toString(), "--max", "20")).isZero();
        var out = Json.MAPPER.readTree(Checkpoint.latest(run).orElseThrow().resolve("eval-classify.json").toFile());
        assertThat(out.path("results").has("bag-of-words logistic regression, text")).isTrue();
        assertThat(out.path("results").path("model, text").path("accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(cli("eval", "classify", "-m", run.toString(), "--corpus", TrainerTest.corpus.toString(), "--source", "nope")).isEqualTo(2);
    }
}
