package m6j.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.function.Supplier;

/**
 * The safetensors format: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}}, then raw little-endian data.
 * Written to a temp file, fsynced and renamed (FileTrees.commit), so a reader never sees half a file, not even after a
 * power loss. Data streams between the file and native tensor memory one tensor at a time, so files larger than
 * memory can be written and read.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = Json.MAPPER;
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {}

    public record Loaded(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    /**
     * One tensor to write: its data is asked for only when its turn comes. owned: the supplier made a new tensor,
     * closed once written (offloaded state brought in from disk just for the write).
     */
    public record Entry(String name, ScalarType dtype, long[] shape, Supplier<Tensor> data, boolean owned) {
        public static Entry of(String name, Tensor t) { return new Entry(name, t.scalar_type(), Tensors.shape(t), () -> t, false); }

        /** Bytes of its data in a file. */
        public long bytes() {
            long n = sizeOf(dtype);
            for (long d : shape) n *= d;
            return n;
        }
    }

    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        write(file, entries(tensors), metadata);
    }

    /** Entries of tensors in memory, in the map's order. */
    public static List<Entry> entries(Map<String, Tensor> tensors) {
        List<Entry> entries = new ArrayList<>();
        tensors.forEach((k, t) -> entries.add(Entry.of(k, t)));
        return entries;
    }

    /**
     * The metadata every file gets first: {@code format: pt}, which Hugging Face's loaders (transformers'
     * {@code load_state_dict}, {@code safetensors.torch}) expect of a PyTorch state dict. m6j's own keys follow it.
     */
    public static final String FORMAT = "format", PYTORCH = "pt";

    /** metadata: m6j's own keys (a "format" other than "pt" is refused: m6j says what a file is under its own key). */
    public static void write(Path file, List<Entry> entries, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        meta.put(FORMAT, PYTORCH);
        if (metadata != null) {
            // In key order: the same file whatever order the map iterates in (Map.of's changes from JVM to JVM).
            new TreeMap<>(metadata).forEach((k, v) -> {
                if (k.equals(FORMAT) && !v.equals(PYTORCH))
                    throw new IllegalArgumentException("safetensors metadata 'format' is 'pt' (PyTorch); name m6j's kind of file under another key, not '" + v + "'");
                meta.put(k, v);
            });
        }
        long offset = 0;
        for (Entry e : entries) {
            long bytes = sizeOf(e.dtype());
            for (long s : e.shape()) bytes *= s;
            ObjectNode info = header.putObject(e.name());
            info.put("dtype", dtypeName(e.dtype()));
            var shape = info.putArray("shape");
            for (long s : e.shape()) shape.add(s);
            info.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] h = JSON.writeValueAsBytes(header);
        int pad = (8 - h.length % 8) % 8; // align data to 8 bytes, padding with spaces as the spec allows
        ByteBuffer head = ByteBuffer.allocate(8 + h.length + pad).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(h.length + pad).put(h);
        for (int i = 0; i < pad; i++) head.put((byte) ' ');
        head.flip();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            long pos = 0;
            while (head.hasRemaining()) pos += ch.write(head, pos);
            for (Entry e : entries) {
                Tensor t = e.data().get();
                try (Tensor d = t.detach(); Tensor cpu = d.cpu(); Tensor c = cpu.contiguous()) {   // each handle closed now, not at GC
                    if (c.scalar_type().value != e.dtype().value || !Arrays.equals(Tensors.shape(c), e.shape()))
                        throw new IllegalStateException("tensor '" + e.name() + "' changed shape or dtype while being written");
                    NativeIo.write(ch, pos, c);
                    pos += c.nbytes();
                }
                if (e.owned()) t.close();
            }
        }
        FileTrees.commit(tmp, file);
    }

    /**
     * All tensors of a file group as full tensors: base file plus its expert shards (prefix-II-of-NN),
     * concatenated along dim 0 in shard order. Works for any expert-parallel degree the checkpoint was written at.
     */
    public static Map<String, Tensor> readFull(Path dir, String base, String shardPrefix) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>(Safetensors.read(dir.resolve(base)).tensors());
        List<Path> shards;
        try (Stream<Path> s = Files.list(dir)) {
            shards = s.filter(p -> p.getFileName().toString().matches(Pattern.quote(shardPrefix) + "-\\d{2}-of-\\d{2}\\.safetensors"))
                    .sorted().toList();
        }
        if (shards.isEmpty()) return out;
        String name = shards.get(0).getFileName().toString();
        int n = Integer.parseInt(name.substring(name.length() - 14, name.length() - 12));
        if (shards.size() != n) throw new IOException(dir + ": has " + shards.size() + " of " + n + " " + shardPrefix + " shards");
        Map<String, List<Tensor>> parts = new LinkedHashMap<>();
        for (Path p : shards)
            Safetensors.read(p).tensors().forEach((k, t) -> parts.computeIfAbsent(k, x -> new ArrayList<>()).add(t));
        for (var e : parts.entrySet()) {
            TensorVector v = new TensorVector();
            for (Tensor t : e.getValue()) v.push_back(t);
            out.put(e.getKey(), torch.cat(v, 0));
        }
        return out;
    }

    /** Every tensor of a file, in memory. */
    public static Loaded read(Path file) throws IOException {
        try (Reader r = new Reader(file)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : r.names()) tensors.put(name, r.read(name));
            return new Loaded(tensors, r.metadata());
        }
    }

    /** An open safetensors file whose tensors are read one at a time, on demand. */
    public static final class Reader implements Closeable {
        public record Info(ScalarType dtype, long[] shape, long start, long end) {}

        private final Path file;
        private final FileChannel ch;
        private final Map<String, Info> infos = new LinkedHashMap<>();
        private final Map<String, String> meta = new LinkedHashMap<>();

        public Reader(Path file) throws IOException {
            this.file = file;
            if (!Files.isRegularFile(file)) throw new IOException("missing safetensors file: " + file);
            ch = FileChannel.open(file, StandardOpenOption.READ);
            try {
                parse();
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }

        private void parse() throws IOException {
            long size = ch.size();
            Header h = header(ch, file);
            for (Iterator<Map.Entry<String, JsonNode>> it = h.json().fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                JsonNode info = e.getValue();
                ScalarType dtype = dtypeOf(info.path("dtype").asText(), file);
                JsonNode shapeNode = info.path("shape");
                long[] shape = new long[shapeNode.size()];
                long bytes = sizeOf(dtype);
                for (int i = 0; i < shape.length; i++) bytes *= (shape[i] = shapeNode.get(i).asLong());
                long start = info.path("data_offsets").path(0).asLong(-1), end = info.path("data_offsets").path(1).asLong(-1);
                if (start < 0 || end < start || h.base() + end > size)
                    throw new IOException("safetensors tensor '" + e.getKey() + "' points outside the file: " + file);
                if (end - start != bytes)
                    throw new IOException("safetensors tensor '" + e.getKey() + "' has a wrong size in " + file);
                infos.put(e.getKey(), new Info(dtype, shape, h.base() + start, h.base() + end));
            }
        }

        public Set<String> names() { return infos.keySet(); }

        public Map<String, String> metadata() { return meta; }

        public Info info(String name) throws IOException {
            Info i = infos.get(name);
            if (i == null) throw new IOException(file + ": missing tensor '" + name + "'");
            return i;
        }

        /** A new CPU tensor with the named tensor's data. */
        public Tensor read(String name) throws IOException {
            Info i = info(name);
            Tensor t = torch.empty(i.shape()).to(i.dtype());
            NativeIo.read(ch, i.start(), t);
            return t;
        }

        /** Reads the named tensor's bytes from element offset `from` into dst (contiguous, same dtype). */
        public void readInto(String name, long from, Tensor dst) throws IOException {
            Info i = info(name);
            long at = i.start() + from * sizeOf(i.dtype());
            if (dst.scalar_type().value != i.dtype().value || at + dst.nbytes() > i.end())
                throw new IOException(file + ": tensor '" + name + "' does not hold the requested slice");
            NativeIo.read(ch, at, dst);
        }

        @Override public void close() throws IOException { ch.close(); }
    }

    /** A file's JSON header and where its data starts (8 + the header's length). */
    private record Header(long base, JsonNode json) {}

    /** Reads and parses the header only; the data may be missing (a truncated file still has a header). */
    private static Header header(FileChannel ch, Path file) throws IOException {
        long size = ch.size();
        if (size < 8) throw new IOException("not a safetensors file (too short): " + file);
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long hlen = lenBuf.flip().getLong();
        if (hlen <= 0 || hlen > MAX_HEADER || 8 + hlen > size)
            throw new IOException("not a safetensors file (bad header length " + hlen + "): " + file);
        ByteBuffer hb = ByteBuffer.allocate((int) hlen);
        readFully(ch, hb, 8);
        try {
            return new Header(8 + hlen, JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new IOException("not a safetensors file (bad JSON header): " + file, e);
        }
    }

    /**
     * The length a file's header says it has: 8 + the header + the end of the data that ends last. Reads only the
     * header, never the tensors: a cheap check that a file was written to the end.
     */
    public static long declaredLength(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("missing safetensors file: " + file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = header(ch, file);
            long end = 0;
            for (Iterator<Map.Entry<String, JsonNode>> it = h.json().fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().equals("__metadata__")) continue;
                long to = e.getValue().path("data_offsets").path(1).asLong(-1);
                if (to < 0) throw new IOException("safetensors tensor '" + e.getKey() + "' has no data_offsets in " + file);
                end = Math.max(end, to);
            }
            return h.base() + end;
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
    private static final int[] SIZES = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1};

    static String dtypeName(ScalarType t) {
        for (int i = 0; i < TYPES.length; i++) if (TYPES[i].value == t.value) return NAMES[i];
        throw new IllegalArgumentException("unsupported dtype for safetensors: " + t);
    }

    static int sizeOf(ScalarType t) {
        for (int i = 0; i < TYPES.length; i++) if (TYPES[i].value == t.value) return SIZES[i];
        throw new IllegalArgumentException("unsupported dtype for safetensors: " + t);
    }

    static ScalarType dtypeOf(String name, Path file) throws IOException {
        for (int i = 0; i < NAMES.length; i++) if (NAMES[i].equals(name)) return TYPES[i];
        throw new IOException("unsupported safetensors dtype '" + name + "' in " + file);
    }
}
