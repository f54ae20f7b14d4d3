package m6j.infer;

import m6j.data.Images;
import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.M6Config;
import m6j.model.M6Model;
import m6j.task.Batch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/** Image captioning: image files or corpus images -> text, through the prefix [image][BOS]. */
public final class Captioner {
    private final M6Model model;
    private final Tokenizer tok;

    public Captioner(M6Model model, Tokenizer tok) {
        this.model = model;
        this.tok = tok;
    }

    /** RGB uint8 images of the model's size -> (B, H, W, C) tensor. */
    public static Tensor imageBatch(List<byte[]> images, M6Config c) {
        return Batch.images(images, c.imageSize(), c.channels());
    }

    public List<String> caption(List<byte[]> images, Sampling s) {
        int bos = tok.id(Tokenizer.BOS);
        int[][] prefix = new int[images.size()][];
        for (int i = 0; i < prefix.length; i++) prefix[i] = new int[]{bos};
        List<String> out = new ArrayList<>();
        try (PointerScope scope = new PointerScope()) {
            int[][] ids = new Generator(model, tok).generate(imageBatch(images, model.config), prefix, 32, s, ForwardContext.eval());
            for (int[] r : ids) out.add(tok.decode(r).trim());
        }
        return out;
    }

    /** Reads and normalises an image file to the model's resolution (RGBA flattened on white, padded square). */
    public byte[] load(Path file) throws IOException {
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException e) {
            throw new IOException("cannot read image " + file + ": " + e.getMessage(), e);
        }
        if (img == null) throw new IOException("not an image (no PNG/JPEG/GIF/BMP decoder accepts it): " + file);
        return Images.toSquareRgb(img, model.config.imageSize());
    }
}
