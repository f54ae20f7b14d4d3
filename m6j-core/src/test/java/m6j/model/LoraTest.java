package m6j.model;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.TestPresets;
import m6j.runtime.Json;
import m6j.runtime.Safetensors;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Low-rank adapters: a new one changes nothing, a trained one folds into the weights exactly, PEFT files round-trip. */
class LoraTest {
    static final M6Config C = TestPresets.get("model-unit");      // dense and MoE blocks, images

    @BeforeAll static void init() { Torch.init(); }

    static float[] logits(M6Model m, Lora a) {
        ForwardContext ctx = ForwardContext.serving().adapter(a);
        try (NoGradGuard ng = new NoGradGuard()) {
            long[] toks = {1, 5, 9, 3, 7, 2};
            Tensor img = M6ModelTest.image(3);
            int s = C.patches() + toks.length;
            Tensor h = m.forward(img, Tensors.longs(toks, 1, toks.length), 0, PrefixMask.of(new int[]{C.patches() + 3}, s, 0), null, ctx);
            return Tensors.toFloats(m.logits(h, ctx));
        }
    }

    /** B away from zero, as training would leave it. */
    static void perturb(Lora a) {
        try (NoGradGuard ng = new NoGradGuard()) {
            torch.manual_seed(11);
            for (var e : a.params.named().entrySet())
                if (e.getKey().endsWith("lora_B.weight")) e.getValue().copy_(Tensors.normal(0.05, ScalarType.Float, Tensors.shape(e.getValue())));
        }
    }

    static double maxDiff(float[] x, float[] y) {
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
        return m;
    }

    @Test void newAdapterChangesNothingAndEveryKindOfMatrixIsAdapted() {
        M6Model m = new M6Model(C, ScalarType.Float, 7);
        Lora a = new Lora(m, Lora.Config.of(4), 1);
        assertThat(logits(m, a)).containsExactly(logits(m, null));
        for (String module : List.of("patch", "blocks.0.attn.qkv", "blocks.0.attn.proj", "blocks.0.ffn.fc1", "blocks.0.ffn.fc2", "blocks.1.moe.w1", "blocks.1.moe.w2", "tok"))
            assertThat(a.adapts(module)).as(module).isTrue();
        assertThat(a.adapts("pos_text")).isFalse();
        assertThat(a.count()).isLessThan(m.params.count() / 2);
    }

    @Test void mergedWeightsGiveTheLogitsOfBasePlusAdapter() {
        M6Model base = new M6Model(C, ScalarType.Float, 7), merged = new M6Model(C, ScalarType.Float, 7);
        Lora a = new Lora(base, new Lora.Config(4, 8, 0.1, Lora.Config.KINDS), 1);
        perturb(a);
        float[] adapted = logits(base, a), plain = logits(base, null);
        assertThat(maxDiff(adapted, plain)).as("a trained adapter changes the logits").isGreaterThan(1e-3);
        a.mergeInto(merged);
        assertThat(maxDiff(logits(merged, null), adapted)).as("merged vs base + adapter").isLessThan(1e-5);
    }

    @Test void peftFilesRoundTrip(@TempDir Path dir) throws Exception {
        M6Model m = new M6Model(C, ScalarType.Float, 7);
        Lora a = new Lora(m, new Lora.Config(2, 4, 0, List.of("qkv", "w1", "patch")), 1);
        perturb(a);
        a.save(dir, Path.of("/models/base"), Map.of());
        JsonNode c = Json.MAPPER.readTree(dir.resolve(Lora.CONFIG).toFile());
        assertThat(c.path("peft_type").asText()).isEqualTo("LORA");
        assertThat(c.path("r").asInt()).isEqualTo(2);
        assertThat(c.path("lora_alpha").asDouble()).isEqualTo(4.0);
        assertThat(c.path("base_model_name_or_path").asText()).isEqualTo("/models/base");
        var names = Safetensors.read(dir.resolve(Lora.WEIGHTS)).tensors();
        assertThat(names).containsKey("base_model.model.blocks.0.attn.qkv.lora_A.weight").containsKey("base_model.model.patch.lora_B.weight");
        assertThat(Tensors.shape(names.get("base_model.model.blocks.0.attn.qkv.lora_A.weight"))).containsExactly(2, C.dModel());
        Lora back = Lora.load(dir, m);
        assertThat(logits(m, back)).containsExactly(logits(m, a));
        assertThat(Lora.describe(dir).base()).isEqualTo(Path.of("/models/base"));
    }

    @Test void badSettingsAreRefusedClearly() {
        assertThatThrownBy(() -> new Lora.Config(0, 1, 0, Lora.Config.KINDS)).hasMessageContaining("rank");
        assertThatThrownBy(() -> new Lora.Config(4, 8, 0, List.of("conv"))).hasMessageContaining("unknown --lora-targets kind 'conv'");
    }
}
