package m6j.data;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Decodes an image file into the corpus image format, or says why it cannot. */
final class ImageFiles {
    static {
        ImageIO.setUseCache(false); // decode in memory, no temp files
    }

    /** Exactly one of rgb and skipReason is non-null. */
    record Decoded(byte[] rgb, String skipReason) {}

    private ImageFiles() {}

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
