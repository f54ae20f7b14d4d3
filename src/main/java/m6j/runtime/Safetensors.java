package m6j.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors format: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}}, then raw little-endian data.
 * Written to a temp file and renamed, so a reader never sees half a file.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {}

    public record Loaded(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        Map<String, byte[]> data = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            byte[] b = Tensors.bytes(t);
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", dtypeName(t.scalar_type()));
            var shape = info.putArray("shape");
            for (long s : Tensors.shape(t)) shape.add(s);
            info.putArray("data_offsets").add(offset).add(offset + b.length);
            offset += b.length;
            data.put(e.getKey(), b);
        }
        byte[] h = JSON.writeValueAsBytes(header);
        int pad = (8 - h.length % 8) % 8; // align data to 8 bytes, padding with spaces as the spec allows
        byte[] hp = new byte[h.length + pad];
        System.arraycopy(h, 0, hp, 0, h.length);
        for (int i = h.length; i < hp.length; i++) hp[i] = ' ';
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (OutputStream out = Files.newOutputStream(tmp)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(hp.length).array());
            out.write(hp);
            for (byte[] b : data.values()) out.write(b);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public static Loaded read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("missing safetensors file: " + file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new IOException("not a safetensors file (too short): " + file);
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long hlen = lenBuf.flip().getLong();
            if (hlen <= 0 || hlen > MAX_HEADER || 8 + hlen > size)
                throw new IOException("not a safetensors file (bad header length " + hlen + "): " + file);
            ByteBuffer hb = ByteBuffer.allocate((int) hlen);
            readFully(ch, hb, 8);
            JsonNode header;
            try {
                header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IOException("not a safetensors file (bad JSON header): " + file, e);
            }
            long base = 8 + hlen;
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> meta = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                JsonNode info = e.getValue();
                ScalarType dtype = dtypeOf(info.path("dtype").asText(), file);
                JsonNode shapeNode = info.path("shape");
                long[] shape = new long[shapeNode.size()];
                for (int i = 0; i < shape.length; i++) shape[i] = shapeNode.get(i).asLong();
                long start = info.path("data_offsets").path(0).asLong(-1), end = info.path("data_offsets").path(1).asLong(-1);
                if (start < 0 || end < start || base + end > size)
                    throw new IOException("safetensors tensor '" + e.getKey() + "' points outside the file: " + file);
                ByteBuffer tb = ByteBuffer.allocate(Math.toIntExact(end - start));
                readFully(ch, tb, base + start);
                try {
                    tensors.put(e.getKey(), Tensors.fromBytes(tb.array(), dtype, shape));
                } catch (IllegalArgumentException ex) {
                    throw new IOException("safetensors tensor '" + e.getKey() + "' has a wrong size in " + file, ex);
                }
            }
            return new Loaded(tensors, meta);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) throw new IOException("unexpected end of file");
        }
    }

    /** By the enum's native value: JavaCPP enums returned from native calls carry a wrong ordinal(), so no switch. */
    private static final ScalarType[] TYPES = {ScalarType.Float, ScalarType.Double, ScalarType.Half, ScalarType.BFloat16,
            ScalarType.Long, ScalarType.Int, ScalarType.Short, ScalarType.Char, ScalarType.Byte, ScalarType.Bool};
    private static final String[] NAMES = {"F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"};

    static String dtypeName(ScalarType t) {
        for (int i = 0; i < TYPES.length; i++) if (TYPES[i].value == t.value) return NAMES[i];
        throw new IllegalArgumentException("unsupported dtype for safetensors: " + t);
    }

    static ScalarType dtypeOf(String name, Path file) throws IOException {
        for (int i = 0; i < NAMES.length; i++) if (NAMES[i].equals(name)) return TYPES[i];
        throw new IOException("unsupported safetensors dtype '" + name + "' in " + file);
    }
}
