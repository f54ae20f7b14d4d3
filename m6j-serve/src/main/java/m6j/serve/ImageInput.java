package m6j.serve;

import m6j.data.ImageFiles;
import m6j.data.Skip;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Base64;
import java.util.concurrent.Semaphore;
import javax.imageio.ImageIO;

/**
 * Images in requests (data: URLs with base64 PNG/JPEG/GIF/BMP/WebP, or http(s) URLs when the server fetches them:
 * {@link ImageFetch}) to the model's RGB bytes, and RGB bytes to PNG.
 */
public final class ImageInput {
    /** Decodes of big images (over {@link #SMALL_PIXELS} declared, or unknown) in flight across all requests. */
    static final Semaphore DECODES = new Semaphore(Math.max(2, Runtime.getRuntime().availableProcessors()));
    /**
     * Small images decode under a pool of their own, so that image bombs (which hold a big permit for about a second
     * each) do not queue every ordinary image behind them: the soak under attack saw image chats at 7.4 s p50 that
     * way. A small raster is at most 512 x 512 x 8 bytes (2 MiB), so these permits bound little memory.
     */
    static final long SMALL_PIXELS = 512L * 512;
    static final Semaphore SMALL_DECODES = new Semaphore(4 * Math.max(2, Runtime.getRuntime().availableProcessors()));

    private ImageInput() {}

    /**
     * A data: URL (or bare base64), or an http(s) URL fetched under the server's policy -> RGB uint8 size x size;
     * 400 with a clear message for anything else.
     */
    public static byte[] fromUrl(String url, int size, String param, ImageFetch fetch) {
        String b64 = url;
        if (url.startsWith("data:")) {
            int comma = url.indexOf(',');
            if (comma < 0 || !url.substring(0, comma).endsWith(";base64"))
                throw ApiError.invalid(param, "invalid_image_url", "Image URLs must be base64 data: URLs (data:image/png;base64,...).");
            b64 = url.substring(comma + 1);
        } else if (url.regionMatches(true, 0, "http://", 0, 7) || url.regionMatches(true, 0, "https://", 0, 8)) {
            return decode(fetch.get(url, param), size, param);
        } else if (url.matches("(?s)[A-Za-z][A-Za-z0-9+.-]{0,31}:.*")) {          // base64 has no ':'
            throw ApiError.invalid(param, "invalid_image_url", "Image URLs must be base64 data: URLs (data:image/png;base64,...)"
                    + (fetch.enabled() ? " or http(s) URLs." : "."));
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(b64.replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid(param, "invalid_base64", "Image data is not valid base64: " + e.getMessage());
        }
        return decode(bytes, size, param);
    }

    /**
     * Through the corpus's bounded decoder (whitelisted readers, sides and pixels checked from the header, the raster
     * subsampled under {@link ImageFiles#DECODE_BYTES}); big ones at most {@link #DECODES} at once, so concurrent
     * requests cannot multiply that bound, small ones under {@link #SMALL_DECODES}.
     */
    public static byte[] decode(byte[] bytes, int size, String param) {
        if (bytes.length == 0) throw ApiError.invalid(param, "invalid_image", "Image data is empty.");
        ImageFiles.Decoded d;
        long px = ImageFiles.declaredPixels(bytes);                    // header only
        Semaphore pool = px >= 0 && px <= SMALL_PIXELS ? SMALL_DECODES : DECODES;
        pool.acquireUninterruptibly();
        try {
            d = ImageFiles.decode(bytes, size);
        } finally {
            pool.release();
        }
        if (d.rgb() != null) return d.rgb();
        throw switch (d.skipReason()) {
            case Skip.TOO_LARGE_IMAGE -> ApiError.invalid(param, "image_too_large", "Image is larger than " + ImageFiles.MAX_SIDE
                    + " pixels on a side or " + ImageFiles.MAX_PIXELS + " pixels in all.");
            case Skip.NOT_AN_IMAGE, Skip.UNSUPPORTED_IMAGE -> ApiError.invalid(param, "invalid_image", "Image data is not a PNG, JPEG, GIF, BMP or WebP image.");
            default -> ApiError.invalid(param, "invalid_image", "Image data could not be decoded (corrupt or truncated).");
        };
    }

    /** RGB uint8 (size x size x 3) -> PNG bytes. */
    public static byte[] png(byte[] rgb, int size) { return png(rgb, size, size, size); }

    /** A PNG of width x height from RGB bytes of size x size, resampled bicubically when the sizes differ. */
    public static byte[] png(byte[] rgb, int size, int width, int height) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                int o = (y * size + x) * 3;
                img.setRGB(x, y, (rgb[o] & 255) << 16 | (rgb[o + 1] & 255) << 8 | (rgb[o + 2] & 255));
            }
        if (width != size || height != size) {
            BufferedImage scaled = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            java.awt.Graphics2D g = scaled.createGraphics();
            g.setRenderingHint(java.awt.RenderingHints.KEY_INTERPOLATION, java.awt.RenderingHints.VALUE_INTERPOLATION_BICUBIC);
            g.drawImage(img, 0, 0, width, height, null);
            g.dispose();
            img = scaled;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }
}
