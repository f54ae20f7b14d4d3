package m6j.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes an image into the corpus image format, or says why it cannot, with bounded memory: only whitelisted
 * readers (PNG, JPEG, GIF, BMP, WebP; no TIFF, WBMP or other plugins), the declared width and height are read from
 * the header and checked before any pixel is decoded, and a large image is subsampled while it is decoded.
 */
final class ImageFiles {
    static {
        ImageIO.setUseCache(false); // decode in memory, no temp files
        ImageIO.scanForPlugins();   // the WebP reader (TwelveMonkeys) on the class path
    }

    /** Exactly one of rgb and skipReason is non-null. */
    record Decoded(byte[] rgb, String skipReason) {}

    /** Refused before decoding: a declared side above this, or more pixels than {@link #MAX_PIXELS}. */
    static final int MAX_SIDE = 16_384;
    static final long MAX_PIXELS = 40_000_000L;
    /** Images with more pixels than this are subsampled while decoding. */
    static final long DECODE_PIXELS = 4_000_000L;
    /** Encoded files above this are not read at all. */
    static final long MAX_FILE_BYTES = 64L << 20;
    /** Reader format names accepted (lower case). */
    static final Set<String> FORMATS = Set.of("png", "jpeg", "jpg", "gif", "bmp", "webp");

    private ImageFiles() {}

    static Decoded decode(Path file, int size) {
        return decode(file, size, 1);
    }

    /** minSide: a declared side below it is {@link Skip#SMALL_IMAGE} (1 accepts everything). */
    static Decoded decode(Path file, int size, int minSide) {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_FILE_BYTES) return new Decoded(null, Skip.TOO_LARGE_IMAGE);
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new Decoded(null, Skip.MISSING_IMAGE);
        } catch (IOException e) {
            return new Decoded(null, Skip.READ_ERROR);
        }
        return decode(bytes, size, minSide);
    }

    static Decoded decode(byte[] bytes, int size, int minSide) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            if (in == null) return new Decoded(null, Skip.NOT_AN_IMAGE);
            ImageReader reader = null;
            boolean anyReader = false;
            for (Iterator<ImageReader> it = ImageIO.getImageReaders(in); it.hasNext(); ) {
                ImageReader r = it.next();
                anyReader = true;
                if (reader == null && allowed(r)) reader = r;
                else r.dispose();
            }
            if (reader == null) return new Decoded(null, anyReader ? Skip.UNSUPPORTED_IMAGE : Skip.NOT_AN_IMAGE);
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0), h = reader.getHeight(0); // header only
                if (w <= 0 || h <= 0) return new Decoded(null, Skip.CORRUPT_IMAGE);
                if (w > MAX_SIDE || h > MAX_SIDE || (long) w * h > MAX_PIXELS) return new Decoded(null, Skip.TOO_LARGE_IMAGE);
                if (Math.min(w, h) < minSide) return new Decoded(null, Skip.SMALL_IMAGE);
                ImageReadParam param = reader.getDefaultReadParam();
                // Large images are subsampled at decode to at most DECODE_PIXELS (and never below 4x the target
                // side); smaller ones decode whole, so the area-average shrink sees every pixel.
                int step = (int) Math.min(Math.ceil(Math.sqrt((double) w * h / DECODE_PIXELS)), Math.max(1, Math.max(w, h) / (4 * size)));
                step = Math.max(1, step);
                if (step > 1) param.setSourceSubsampling(step, step, 0, 0);
                BufferedImage img = reader.read(0, param);
                if (img == null || img.getWidth() <= 0 || img.getHeight() <= 0) return new Decoded(null, Skip.CORRUPT_IMAGE);
                return new Decoded(Images.toSquareRgb(img, size), null);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            // ImageIO reports truncated data as IIOException, some corrupt chunks as runtime exceptions.
            return new Decoded(null, Skip.CORRUPT_IMAGE);
        } catch (OutOfMemoryError e) {
            return new Decoded(null, Skip.TOO_LARGE_IMAGE);
        }
    }

    private static boolean allowed(ImageReader r) {
        try {
            for (String n : r.getOriginatingProvider().getFormatNames()) {
                if (!FORMATS.contains(n.toLowerCase(Locale.ROOT))) continue;
                return true;
            }
        } catch (RuntimeException e) {
            return false;
        }
        return false;
    }
}
