package m6j.task;

import m6j.data.Tokenizer;
import m6j.runtime.FileTrees;
import m6j.vq.ImageVocab;
import m6j.vq.VqCheckpoint;
import m6j.vq.VqModel;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Gives a run's training data its image-code sequences: every image-text example's image through the run's VQGAN
 * (RUN/vqgan), once; the codes are cached in RUN/image-codes.bin, keyed by a CRC of the images, so resuming or
 * retraining on the same corpus does not encode again.
 */
public final class ImageCodeData {
    /** Share of t2i examples trained with an empty prompt (for classifier-free guidance). */
    public static final double DROP_PROMPT = 0.1;
    static final String CACHE = "image-codes.bin";

    private ImageCodeData() {}

    /** No-op for a run without image-vocab.json. */
    public static void attach(TrainData data, Tokenizer tok, Path runDir, Path corpusDir, PrintStream log) throws IOException {
        var vocab = ImageVocab.find(runDir);
        if (vocab.isEmpty()) return;
        ImageVocab v = vocab.get();
        List<byte[]> images = data.images();
        long key = crc(images);
        long[][] codes = read(runDir.resolve(CACHE), key, images.size(), v.codes());
        if (codes == null) {
            long t0 = System.nanoTime();
            VqModel vq = VqCheckpoint.load(v.vqganDir(runDir));
            if (images.size() > 0 && images.get(0).length != vq.config.imageSize() * vq.config.imageSize() * 3)
                throw new IllegalArgumentException("corpus " + corpusDir + " images do not match the VQGAN's " + vq.config.imageSize() + "px");
            codes = vq.codes(images, 128);
            write(runDir.resolve(CACHE), key, codes);
            log.printf("m6j: encoded %,d images into %dx%d codes with %s in %.1f s%n", images.size(), v.grid(), v.grid(),
                    v.vqganDir(runDir), (System.nanoTime() - t0) / 1e9);
        }
        int offset = tok.vocabSize();
        List<int[]> ids = new ArrayList<>(codes.length);
        for (long[] c : codes) {
            int[] r = new int[c.length];
            for (int i = 0; i < c.length; i++) r[i] = offset + (int) c[i];
            ids.add(r);
        }
        data.attachImageCodes(ids, v.promptLen(), DROP_PROMPT);
    }

    static long crc(List<byte[]> images) {
        CRC32 c = new CRC32();
        for (byte[] b : images) c.update(b);
        return c.getValue() ^ ((long) images.size() << 32);
    }

    private static long[][] read(Path f, long key, int n, int per) throws IOException {
        if (!Files.isRegularFile(f)) return null;
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(f)))) {
            if (in.readLong() != key || in.readInt() != n || in.readInt() != per) return null;
            long[][] out = new long[n][per];
            for (long[] r : out) for (int i = 0; i < per; i++) r[i] = in.readUnsignedShort();
            return out;
        }
    }

    private static void write(Path f, long key, long[][] codes) throws IOException {
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
            out.writeLong(key);
            out.writeInt(codes.length);
            out.writeInt(codes.length == 0 ? 0 : codes[0].length);
            for (long[] r : codes) for (long c : r) out.writeShort((int) c);
        }
        FileTrees.commit(tmp, f);
    }
}
