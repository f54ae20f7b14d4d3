package m6j.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** Decodes an image file into the corpus image format, or says why it cannot. */
final class ImageFiles {
    static {
        ImageIO.setUseCache(false); // decode in memory, no temp files
    }

    /** Exactly one of rgb and skipReason is non-null. */
    record Decoded(byte[] rgb, String skipReason) {}

    /** Decoding allocates w*h ints; refuse absurd sizes before that instead of running out of memory. */
    static final long MAX_PIXELS = 40_000_000L;

    private ImageFiles() {}

    /** Reads only the header; a reason when the image is too large, else null (also for unknown formats). */
    private static String tooLarge(byte[] bytes) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) return null;
            ImageReader r = readers.next();
            try {
                r.setInput(in, true, true);
                long px = (long) r.getWidth(0) * r.getHeight(0);
                return px > MAX_PIXELS ? Skip.TOO_LARGE_IMAGE : null;
            } finally {
                r.dispose();
            }
        }
    }

    static Decoded decode(Path file, int size) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new Decoded(null, Skip.MISSING_IMAGE);
        } catch (IOException e) {
            return new Decoded(null, Skip.READ_ERROR);
        }
        try {
            String tooLarge = tooLarge(bytes);
            if (tooLarge != null) return new Decoded(null, tooLarge);
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
            if (img == null) return new Decoded(null, Skip.NOT_AN_IMAGE);
            if (img.getWidth() <= 0 || img.getHeight() <= 0) return new Decoded(null, Skip.CORRUPT_IMAGE);
            return new Decoded(Images.toSquareRgb(img, size), null);
        } catch (IOException | RuntimeException e) {
            // ImageIO reports truncated data as IIOException, some corrupt chunks as runtime exceptions.
            return new Decoded(null, Skip.CORRUPT_IMAGE);
        }
    }
}
