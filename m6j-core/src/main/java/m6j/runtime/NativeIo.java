package m6j.runtime;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Positional file I/O straight between a file and a contiguous CPU tensor's memory: no Java heap copy, so
 * tensors of any size stream through (safetensors, offload tiers).
 */
public final class NativeIo {
    private static final long CHUNK = 1L << 30;

    private NativeIo() {}

    /** Writes t's bytes at pos. t must be a contiguous CPU tensor. */
    public static void write(FileChannel ch, long pos, Tensor t) throws IOException {
        transfer(t, pos, (b, at) -> ch.write(b, at));
    }

    /** Fills dst (contiguous CPU) with dst.nbytes() bytes read at pos. */
    public static void read(FileChannel ch, long pos, Tensor dst) throws IOException {
        transfer(dst, pos, (b, at) -> {
            int r = ch.read(b, at);
            if (r < 0) throw new IOException("unexpected end of file at byte " + at);
            return r;
        });
    }

    private interface Step { int run(ByteBuffer b, long at) throws IOException; }

    /** Moves t's memory to or from the file in chunks of at most 1 GiB (a ByteBuffer's limit). */
    private static void transfer(Tensor t, long pos, Step step) throws IOException {
        requireContiguousCpu(t);
        long n = t.nbytes();
        BytePointer p = new BytePointer(t.data_ptr());
        for (long off = 0; off < n; off += CHUNK) {
            ByteBuffer b = p.position(off).limit(Math.min(n, off + CHUNK)).asByteBuffer();
            long at = pos + off;
            while (b.hasRemaining()) at += step.run(b, at);
        }
    }

    private static void requireContiguousCpu(Tensor t) {
        if (!t.is_contiguous() || !Devices.isCpu(t.device())) throw new IllegalArgumentException("need a contiguous CPU tensor");
    }
}
