package m6j.runtime;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsTest {
    @BeforeAll static void init() { Torch.init(); }

    @Test void roundTripKeepsNamesShapesDtypesAndBytes(@TempDir Path dir) throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("w", Tensors.normal(1, ScalarType.Float, 3, 4));
        in.put("d", Tensors.normal(1, ScalarType.Double, 5));
        in.put("ids", Tensors.longs(new long[]{1, -2, 3}, 3));
        in.put("mask", Tensors.bools(new boolean[]{true, false}, 2));
        in.put("bf", Tensors.normal(1, ScalarType.Float, 2, 2).to(ScalarType.BFloat16));
        Path f = dir.resolve("m.safetensors");
        Safetensors.write(f, in, Map.of("m6j", "model"));
        Safetensors.Loaded out = Safetensors.read(f);
        assertThat(out.metadata()).as("PyTorch's format marker first, m6j's keys beside it")
                .containsExactly(Map.entry("format", "pt"), Map.entry("m6j", "model"));
        assertThat(out.tensors().keySet()).containsExactlyElementsOf(in.keySet());
        for (String k : in.keySet()) {
            assertThat(out.tensors().get(k).scalar_type().value).isEqualTo(in.get(k).scalar_type().value);
            assertThat(Tensors.shape(out.tensors().get(k))).containsExactly(Tensors.shape(in.get(k)));
            assertThat(Tensors.bytes(out.tensors().get(k))).isEqualTo(Tensors.bytes(in.get(k)));
        }
    }

    /**
     * The same tensors and metadata give the same bytes whatever order the metadata map iterates in: Map.of's order
     * changes from one JVM to the next, so a checkpoint of a resumed run differed from an uninterrupted run's in its
     * header while every tensor was bit-equal (scripts/chaos-train.sh).
     */
    @Test void metadataIsWrittenInKeyOrder(@TempDir Path dir) throws IOException {
        Map<String, Tensor> t = Map.of("w", Tensors.floats(new float[]{1f, 2f}, 2));
        Map<String, String> ab = new LinkedHashMap<>(), ba = new LinkedHashMap<>();
        ab.put("m6j", "model"); ab.put("step", "10");
        ba.put("step", "10"); ba.put("m6j", "model");
        Safetensors.write(dir.resolve("ab.safetensors"), t, ab);
        Safetensors.write(dir.resolve("ba.safetensors"), t, ba);
        assertThat(Files.readAllBytes(dir.resolve("ba.safetensors"))).isEqualTo(Files.readAllBytes(dir.resolve("ab.safetensors")));
    }

    @Test void aFormatOtherThanPtIsRefused(@TempDir Path dir) {
        assertThatThrownBy(() -> Safetensors.write(dir.resolve("x.safetensors"), Map.of("w", Tensors.floats(new float[2], 2)), Map.of("format", "m6j")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'pt'");
    }

    @Test void fileFollowsTheSafetensorsLayout(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("x.safetensors");
        Safetensors.write(f, Map.of("a", Tensors.floats(new float[]{1.5f, -2f}, 2)), Map.of());
        byte[] b = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(b, 8, (int) n, StandardCharsets.UTF_8).trim();
        assertThat(header).isEqualTo("{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
        ByteBuffer data = ByteBuffer.wrap(b, 8 + (int) n, 8).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(data.getFloat()).isEqualTo(1.5f);
        assertThat(data.getFloat()).isEqualTo(-2f);
        assertThat(b.length).isEqualTo(8 + n + 8);
    }

    @Test void declaredLengthReadsOnlyTheHeaderAndStillSeesACutFile(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("m.safetensors");
        Safetensors.write(f, Map.of("a", Tensors.normal(1, ScalarType.Float, 100), "b", Tensors.normal(1, ScalarType.Float, 3)), Map.of("k", "v"));
        long whole = Files.size(f);
        assertThat(Safetensors.declaredLength(f)).isEqualTo(whole);
        byte[] b = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(b, b.length - 300));              // only the header and a little data left
        assertThat(Safetensors.declaredLength(f)).isEqualTo(whole);
        Files.write(f, Arrays.copyOf(b, 12));                          // the header itself cut
        assertThatThrownBy(() -> Safetensors.declaredLength(f)).isInstanceOf(IOException.class).hasMessageContaining(f.toString());
        assertThatThrownBy(() -> Safetensors.declaredLength(dir.resolve("none"))).isInstanceOf(IOException.class).hasMessageContaining("none");
    }

    @Test void corruptOrMissingFilesNameTheFile(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("none.safetensors");
        assertThatThrownBy(() -> Safetensors.read(missing)).isInstanceOf(IOException.class).hasMessageContaining(missing.toString());
        Path junk = dir.resolve("junk.safetensors");
        Files.write(junk, new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
        assertThatThrownBy(() -> Safetensors.read(junk)).isInstanceOf(IOException.class).hasMessageContaining(junk.toString());
        Path cut = dir.resolve("cut.safetensors");
        Safetensors.write(cut, Map.of("a", Tensors.normal(1, ScalarType.Float, 100)), Map.of());
        byte[] b = Files.readAllBytes(cut);
        Files.write(cut, Arrays.copyOf(b, b.length - 10));
        assertThatThrownBy(() -> Safetensors.read(cut)).isInstanceOf(IOException.class).hasMessageContaining(cut.toString());
    }
}
