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
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes an image into the corpus image format, or says why it cannot, with bounded memory: only whitelisted
 * readers (PNG, JPEG, GIF, BMP, WebP; no TIFF, WBMP or other plugins), the declared width and height are read from
 * the header and checked before any pixel is decoded, and a large image is subsampled while it is decoded so that its
 * raster never exceeds {@link #DECODE_BYTES} whatever its bit depth. The corpus readers and the server's image
 * inputs (m6j.serve.ImageInput) both decode here.
 */
public final class ImageFiles {
    static {
        ImageIO.setUseCache(false); // decode in memory, no temp files
        ImageIO.scanForPlugins();   // the WebP reader (TwelveMonkeys) on the class path
    }

    /** Exactly one of rgb and skipReason is non-null. */
    public record Decoded(byte[] rgb, String skipReason) {}

    /** Refused before decoding: a declared side above this, or more pixels than {@link #MAX_PIXELS}. */
    public static final int MAX_SIDE = 16_384;
    public static final long MAX_PIXELS = 40_000_000L;
    /** Images with more pixels than this are subsampled while decoding. */
    static final long DECODE_PIXELS = 4_000_000L;
    /** The decoded raster is subsampled below this however many bytes a pixel takes (16-bit RGBA: 8). */
    public static final long DECODE_BYTES = 16L << 20;
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

    /** Encoded bytes -> RGB uint8 size x size, or a {@link Skip} reason. */
    public static Decoded decode(byte[] bytes, int size) {
        return decode(bytes, size, 1);
    }

    static Decoded decode(byte[] bytes, int size, int minSide) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            if (in == null) return new Decoded(null, Skip.NOT_AN_IMAGE);
            boolean[] anyReader = {false};
            ImageReader reader = reader(in, anyReader);
            if (reader == null) return new Decoded(null, anyReader[0] ? Skip.UNSUPPORTED_IMAGE : Skip.NOT_AN_IMAGE);
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0), h = reader.getHeight(0); // header only
                if (w <= 0 || h <= 0) return new Decoded(null, Skip.CORRUPT_IMAGE);
                if (w > MAX_SIDE || h > MAX_SIDE || (long) w * h > MAX_PIXELS) return new Decoded(null, Skip.TOO_LARGE_IMAGE);
                if (Math.min(w, h) < minSide) return new Decoded(null, Skip.SMALL_IMAGE);
                ImageReadParam param = reader.getDefaultReadParam();
                // Large images are subsampled at decode to at most DECODE_PIXELS (and never below 4x the target
                // side); smaller ones decode whole, so the area-average shrink sees every pixel. The raster's bytes
                // are a hard cap: a 6000 x 6000 16-bit RGBA PNG of 280 KB would otherwise hold 288 MB.
                int forPixels = (int) Math.ceil(Math.sqrt((double) w * h / DECODE_PIXELS));
                int forBytes = (int) Math.ceil(Math.sqrt((double) w * h * bytesPerPixel(reader) / DECODE_BYTES));
                int step = Math.max(1, Math.max(forBytes, Math.min(forPixels, Math.max(1, Math.max(w, h) / (4 * size)))));
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

    /** The first whitelisted reader of in (others disposed), or null; anyReader[0] says whether any reader knew it. */
    private static ImageReader reader(ImageInputStream in, boolean[] anyReader) {
        ImageReader reader = null;
        for (Iterator<ImageReader> it = ImageIO.getImageReaders(in); it.hasNext(); ) {
            ImageReader r = it.next();
            anyReader[0] = true;
            if (reader == null && allowed(r)) reader = r;
            else r.dispose();
        }
        return reader;
    }

    /**
     * Width x height as the header declares them (no pixel decoded), or -1 when no whitelisted reader can tell: lets
     * a caller keep big decodes from holding up small ones (m6j.serve.ImageInput).
     */
    public static long declaredPixels(byte[] bytes) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            if (in == null) return -1;
            ImageReader reader = reader(in, new boolean[1]);
            if (reader == null) return -1;
            try {
                reader.setInput(in, true, true);
                return (long) reader.getWidth(0) * reader.getHeight(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Bytes per decoded pixel from the reader's raw type (header only); 8, the most any allowed reader gives, if unknown. */
    private static int bytesPerPixel(ImageReader r) {
        try {
            ImageTypeSpecifier t = r.getRawImageType(0);
            if (t == null) return 8;
            int bits = 0;
            for (int b : t.getSampleModel().getSampleSize()) bits += b;
            return Math.max(1, (bits + 7) / 8);
        } catch (IOException | RuntimeException e) {
            return 8;
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
