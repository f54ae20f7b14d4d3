package m6j.runtime;

import m6j.TestPresets;
import m6j.model.ForwardContext;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.model.PrefixMask;
import org.assertj.core.api.Assertions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Runs where libtorch sees a CUDA device; on CPU-only machines only the clear-error case runs. */
class CudaTest {
    static boolean cuda() {
        Torch.init();
        return torch.cuda_is_available();
    }

    @Test void askingForCudaWithoutOneIsAClearError() {
        if (cuda()) return;
        assertThatThrownBy(() -> Devices.resolve("cuda")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("CUDA");
        assertThat(Devices.resolve("auto").is_cuda()).isFalse();
    }

    @Test @EnabledIf("cuda") void modelOnCudaMatchesCpu() {
        M6Config c = TestPresets.get("model-unit", Map.of("moe.topK", 1));
        M6Model cpu = new M6Model(c, ScalarType.Float, 3), gpu = new M6Model(c, ScalarType.Float, 3, Devices.resolve("cuda"));
        try (NoGradGuard ng = new NoGradGuard()) {
            Tensor img = torch.randint(0, 256, new long[]{2, 8, 8, 3}).to(ScalarType.Byte);
            Tensor tok = Tensors.longs(new long[]{1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor mask = PrefixMask.of(new int[]{5, 5}, c.patches() + 3, 0);
            float[] a = Tensors.toFloats(cpu.forward(img, tok, 0, mask, null, ForwardContext.eval()));
            float[] b = Tensors.toFloats(gpu.forward(img, tok, 0, mask, null, ForwardContext.eval()));
            for (int i = 0; i < a.length; i++) assertThat(b[i]).isCloseTo(a[i], Assertions.within(1e-3f));
        }
    }
}
