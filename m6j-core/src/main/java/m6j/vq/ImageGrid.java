package m6j.vq;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/** PNG writing: single RGB images and contact sheets (a grid with a 1-pixel white gutter, optionally scaled up). */
public final class ImageGrid {
    private ImageGrid() {}

    public static BufferedImage image(byte[] rgb, int size) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                int p = 3 * (y * size + x);
                img.setRGB(x, y, ((rgb[p] & 0xff) << 16) | ((rgb[p + 1] & 0xff) << 8) | (rgb[p + 2] & 0xff));
            }
        return img;
    }

    public static void write(Path file, byte[] rgb, int size) throws IOException {
        write(file, image(rgb, size));
    }

    /** Images in rows of cols, each scaled by an integer factor. */
    public static BufferedImage sheet(List<byte[]> images, int size, int cols, int scale) {
        int rows = Math.max(1, (images.size() + cols - 1) / cols), cell = size * scale + 1;
        BufferedImage out = new BufferedImage(cols * cell + 1, rows * cell + 1, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < out.getHeight(); y++) for (int x = 0; x < out.getWidth(); x++) out.setRGB(x, y, 0xffffff);
        for (int i = 0; i < images.size(); i++) {
            BufferedImage img = image(images.get(i), size);
            int ox = 1 + (i % cols) * cell, oy = 1 + (i / cols) * cell;
            for (int y = 0; y < size * scale; y++)
                for (int x = 0; x < size * scale; x++) out.setRGB(ox + x, oy + y, img.getRGB(x / scale, y / scale));
        }
        return out;
    }

    public static void write(Path file, BufferedImage img) throws IOException {
        if (file.toAbsolutePath().getParent() != null) Files.createDirectories(file.toAbsolutePath().getParent());
        ImageIO.write(img, "png", file.toFile());
    }
}
