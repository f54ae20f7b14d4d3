package m6j.data;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** Fashion-MNIST gzipped IDX files; train-* is TRAIN and t10k-* is TEST; caption "a"/"an" + class name. */
public final class FashionMnistReader implements SourceReader {
    public static final List<String> CLASSES = List.of(
            "t-shirt", "trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot");
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    @Override public Source source() { return Source.FASHION_MNIST; }

    /** "a t-shirt", "an ankle boot", "a pair of trousers". */
    public static String caption(String className) {
        if (className.equals("trousers")) return "a pair of trousers";
        return ("aeiou".indexOf(className.charAt(0)) >= 0 ? "an " : "a ") + className;
    }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        Path dir = roots.fashionMnist();
        if (!Files.isDirectory(dir)) {
            sink.notInstalled();
            return;
        }
        readPair(dir, "train", Split.TRAIN, sink);
        readPair(dir, "t10k", Split.TEST, sink);
    }

    private static void readPair(Path dir, String prefix, Split split, SourceSink sink) throws IOException {
        Path images = dir.resolve(prefix + "-images-idx3-ubyte.gz");
        Path labels = dir.resolve(prefix + "-labels-idx1-ubyte.gz");
        if (!Files.isRegularFile(images) || !Files.isRegularFile(labels)) {
            sink.skip(Skip.MISSING_FILE);
            return;
        }
        try (DataInputStream img = open(images); DataInputStream lab = open(labels)) {
            int n, m, rows, cols;
            try {
                if (img.readInt() != IMAGES_MAGIC || lab.readInt() != LABELS_MAGIC) {
                    sink.skip(Skip.BAD_IDX_HEADER);
                    return;
                }
                n = img.readInt();
                rows = img.readInt();
                cols = img.readInt();
                m = lab.readInt();
            } catch (IOException e) {
                sink.skip(Skip.BAD_IDX_HEADER);
                return;
            }
            if (n < 0 || m < 0 || rows <= 0 || cols <= 0 || rows > 4096 || cols > 4096) {
                sink.skip(Skip.BAD_IDX_HEADER);
                return;
            }
            int declared = Math.max(n, m);
            int usable = Math.min(n, m);
            sink.progress(prefix, usable);
            byte[] pixels = new byte[rows * cols];
            int i = 0;
            for (; i < usable && !sink.full(split); i++) {
                int label;
                try {
                    img.readFully(pixels);
                    label = lab.readUnsignedByte();
                } catch (EOFException e) {
                    break;
                } catch (IOException e) {
                    // a cut gzip stream surfaces as a ZipException or EOF: keep what came before it
                    break;
                }
                if (label >= CLASSES.size()) {
                    sink.skip("bad label");
                    continue;
                }
                String name = CLASSES.get(label);
                sink.add(String.format("%s-%05d", prefix, i), split, caption(name), name,
                        Images.greyToRgb(pixels, cols, rows, sink.imageSize()));
            }
            boolean capped = sink.full(split);
            if (!capped && i < declared) sink.skip(Skip.TRUNCATED_IDX, declared - i);
        }
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream in = Files.newInputStream(p);
        try {
            return new DataInputStream(new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16));
        } catch (IOException e) {
            in.close();
            // not gzip at all: treat as an unreadable header
            return new DataInputStream(new ByteArrayInputStream(new byte[0]));
        }
    }
}
