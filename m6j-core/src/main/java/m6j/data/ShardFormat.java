package m6j.data;

import m6j.runtime.FileTrees;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The .m6c shard format, version 2 (version 1 is still read). All integers are big-endian int32; strings are
 * int32 byte length + UTF-8.
 * <pre>
 * file   = header record{count} crc32
 * header = "M6JC" version imageSize split(0=TRAIN,1=TEST) count
 * record = bodyLength body
 * body   = str(sourceId) str(id) str(text) str(label) imageLength(-1 = no image) imageBytes str(prompt)
 *          (version 1: no prompt; read as "")
 * crc32  = CRC-32 of every byte before it
 * </pre>
 * A source id that is not a built-in one is a user source (its hasImages comes from corpus.json).
 * The length prefix lets a reader skip records it does not understand; the trailing CRC catches truncation
 * and bit rot. Files are written to a temp name, fsynced and atomically renamed (FileTrees.commit), so a shard either
 * exists whole or not, also after a power loss.
 */
public final class ShardFormat {
    public static final int VERSION = 2;
    /** The oldest version {@link #read} accepts. */
    public static final int MIN_VERSION = 1;
    public static final String EXTENSION = ".m6c";
    /** Soft cap on one shard's size; a new shard starts before a record would cross it. */
    public static final long MAX_SHARD_BYTES = 64L << 20;
    static final byte[] MAGIC = {'M', '6', 'J', 'C'};
    static final int HEADER_BYTES = 20;

    private ShardFormat() {}

    /** Bytes one record takes in a shard, length prefix included. */
    public static long recordBytes(Example e) {
        return 4 + bodyBytes(e);
    }

    private static long bodyBytes(Example e) {
        return 20L + utf8(e.source().id()).length + utf8(e.id()).length + utf8(e.text()).length
                + utf8(e.label()).length + 4 + (e.image() == null ? 0 : e.image().length) + utf8(e.prompt()).length;
    }

    public static ShardInfo write(Path dir, String fileName, Split split, int imageSize, List<Example> records)
            throws IOException {
        Path target = dir.resolve(fileName);
        Path tmp = dir.resolve(fileName + ".tmp");
        CRC32 crc = new CRC32();
        long bytes;
        try (OutputStream raw = Files.newOutputStream(tmp);
             CrcOutputStream counted = new CrcOutputStream(new BufferedOutputStream(raw, 1 << 16), crc);
             DataOutputStream out = new DataOutputStream(counted)) {
            out.write(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(imageSize);
            out.writeInt(split.ordinal());
            out.writeInt(records.size());
            for (Example e : records) {
                if (e.split() != split) throw new IllegalArgumentException("record " + e.id() + " is not " + split);
                if (e.image() != null && e.image().length != imageSize * imageSize * 3) {
                    throw new IllegalArgumentException("record " + e.id() + " image has " + e.image().length + " bytes");
                }
                out.writeInt(Math.toIntExact(bodyBytes(e)));
                writeStr(out, e.source().id());
                writeStr(out, e.id());
                writeStr(out, e.text());
                writeStr(out, e.label());
                if (e.image() == null) {
                    out.writeInt(-1);
                } else {
                    out.writeInt(e.image().length);
                    out.write(e.image());
                }
                writeStr(out, e.prompt());
            }
            out.flush();
            long value = crc.getValue();
            counted.enabled = false;
            out.writeInt((int) value);
            out.flush();
            bytes = counted.count;
        }
        FileTrees.commit(tmp, target);
        return new ShardInfo(fileName, split, records.size(), bytes, crc.getValue());
    }

    /** Reads and verifies a whole shard; any inconsistency is an IOException naming the file. */
    public static List<Example> read(Path file, ShardInfo expected, int imageSize) throws IOException {
        return read(file, expected, imageSize, Map.of());
    }

    /** As {@link #read(Path, ShardInfo, int)}, resolving source ids through sources (others: built-in or text-only user). */
    public static List<Example> read(Path file, ShardInfo expected, int imageSize, Map<String, Source> sources)
            throws IOException {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException("missing shard file " + file, e);
        }
        String name = file.toString();
        if (all.length < HEADER_BYTES + 4) throw new IOException(name + ": too short for a shard (" + all.length + " bytes)");
        if (all.length != expected.bytes()) {
            throw new IOException(name + ": has " + all.length + " bytes, corpus.json says " + expected.bytes());
        }
        CRC32 crc = new CRC32();
        crc.update(all, 0, all.length - 4);
        ByteBuffer buf = ByteBuffer.wrap(all);
        int stored = buf.getInt(all.length - 4);
        if (stored != (int) crc.getValue() || (int) expected.crc32() != stored) {
            throw new IOException(name + ": CRC mismatch (corrupt or truncated shard)");
        }
        byte[] magic = new byte[4];
        buf.get(magic);
        if (!Arrays.equals(magic, MAGIC)) throw new IOException(name + ": not an m6c shard (bad magic)");
        int version = buf.getInt();
        if (version < MIN_VERSION || version > VERSION) throw new IOException(name + ": unsupported shard version " + version);
        int size = buf.getInt();
        if (size != imageSize) throw new IOException(name + ": imageSize " + size + ", corpus.json says " + imageSize);
        int splitOrdinal = buf.getInt();
        if (splitOrdinal != expected.split().ordinal()) throw new IOException(name + ": split does not match corpus.json");
        Split split = Split.values()[splitOrdinal];
        int count = buf.getInt();
        if (count != expected.records()) {
            throw new IOException(name + ": has " + count + " records, corpus.json says " + expected.records());
        }
        // A record is at least its length, four string lengths and the image length: a count the bytes cannot hold
        // is refused before any list of that size is made (corpus.json may be as hostile as the shard).
        int minRecord = 4 + 4 * 4 + 4 + (version >= 2 ? 4 : 0);
        if (count < 0 || (long) count * minRecord > all.length - HEADER_BYTES - 4L) {
            throw new IOException(name + ": declares " + count + " records, more than its " + all.length + " bytes can hold");
        }
        List<Example> out = new ArrayList<>(count);
        try {
            for (int i = 0; i < count; i++) {
                int len = buf.getInt();
                int end = buf.position() + len;
                String sourceId = readStr(buf);
                Source source = sources.get(sourceId);
                if (source == null) source = Source.of(sourceId, false);
                String id = readStr(buf);
                String text = readStr(buf);
                String label = readStr(buf);
                int imageLen = buf.getInt();
                byte[] image = null;
                if (imageLen >= 0) {
                    if (imageLen != imageSize * imageSize * 3) throw new IOException(name + ": record " + id + " has bad image size");
                    image = new byte[imageLen];
                    buf.get(image);
                }
                String prompt = version >= 2 ? readStr(buf) : "";
                if (buf.position() != end) throw new IOException(name + ": record " + i + " length mismatch");
                out.add(new Example(source, split, id, text, label, image, prompt));
            }
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new IOException(name + ": malformed record: " + e, e);
        }
        if (buf.position() != all.length - 4) throw new IOException(name + ": trailing bytes after records");
        return out;
    }

    private static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    private static void writeStr(DataOutputStream out, String s) throws IOException {
        byte[] b = utf8(s);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readStr(ByteBuffer buf) {
        int len = buf.getInt();
        if (len < 0 || len > buf.remaining()) throw new IllegalArgumentException("bad string length " + len);
        ByteBuffer slice = buf.slice(buf.position(), len);
        buf.position(buf.position() + len);
        try {
            return TextClean.decodeStrict(slice);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("bad UTF-8 in shard string", e);
        }
    }

    /** Counts bytes and feeds the CRC until disabled (the CRC itself is not part of its own input). */
    private static final class CrcOutputStream extends FilterOutputStream {
        final CRC32 crc;
        long count;
        boolean enabled = true;

        CrcOutputStream(OutputStream out, CRC32 crc) {
            super(out);
            this.crc = crc;
        }

        @Override public void write(int b) throws IOException {
            out.write(b);
            count++;
            if (enabled) crc.update(b);
        }

        @Override public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
            if (enabled) crc.update(b, off, len);
        }
    }

}
