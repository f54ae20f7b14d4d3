package m6j.serve;

import m6j.data.Images;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Base64;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** Images in requests (data: URLs with base64 PNG/JPEG/GIF/BMP) to the model's RGB bytes, and RGB bytes to PNG. */
public final class ImageInput {
    static final long MAX_PIXELS = 40_000_000L;

    static {
        ImageIO.setUseCache(false);
    }

    private ImageInput() {}

    /** A data: URL (or bare base64) -> RGB uint8 size x size; 400 with a clear message for anything else. */
    public static byte[] fromUrl(String url, int size, String param) {
        String b64 = url;
        if (url.startsWith("data:")) {
            int comma = url.indexOf(',');
            if (comma < 0 || !url.substring(0, comma).endsWith(";base64"))
                throw ApiError.invalid(param, "invalid_image_url", "Image URLs must be base64 data: URLs (data:image/png;base64,...).");
            b64 = url.substring(comma + 1);
        } else if (url.startsWith("http://") || url.startsWith("https://")) {
            throw ApiError.invalid(param, "invalid_image_url", "This server does not fetch remote images; send the image as a data: URL.");
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(b64.replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid(param, "invalid_base64", "Image data is not valid base64: " + e.getMessage());
        }
        return decode(bytes, size, param);
    }

    public static byte[] decode(byte[] bytes, int size, String param) {
        if (bytes.length == 0) throw ApiError.invalid(param, "invalid_image", "Image data is empty.");
        try {
            try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
                Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
                if (!readers.hasNext()) throw notImage(param);
                ImageReader r = readers.next();
                try {
                    r.setInput(in, true, true);
                    if ((long) r.getWidth(0) * r.getHeight(0) > MAX_PIXELS)
                        throw ApiError.invalid(param, "image_too_large", "Image has more than " + MAX_PIXELS + " pixels.");
                } finally {
                    r.dispose();
                }
            }
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
            if (img == null || img.getWidth() <= 0 || img.getHeight() <= 0) throw notImage(param);
            return Images.toSquareRgb(img, size);
        } catch (IOException | RuntimeException e) {
            if (e instanceof ApiError a) throw a;
            throw ApiError.invalid(param, "invalid_image", "Image data could not be decoded (corrupt or truncated).");
        }
    }

    private static ApiError notImage(String param) {
        return ApiError.invalid(param, "invalid_image", "Image data is not a PNG, JPEG, GIF or BMP image.");
    }

    /** RGB uint8 (size x size x 3) -> PNG bytes. */
    public static byte[] png(byte[] rgb, int size) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                int o = (y * size + x) * 3;
                img.setRGB(x, y, (rgb[o] & 255) << 16 | (rgb[o + 1] & 255) << 8 | (rgb[o + 2] & 255));
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
