package m6j.infer;

import m6j.data.Images;
import m6j.data.Tokenizer;
import m6j.model.M6Model;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/** Image captioning: image files or corpus images -> text, through the prefix [image][BOS], decoded by the engine. */
public final class Captioner {
    private final Engine engine;
    private final M6Model model;

    public Captioner(Engine engine) {
        this.engine = engine;
        this.model = engine.model();
    }

    /** Captions of RGB images of the model's size, up to maxTokens each; image i samples with seed + i. */
    public List<String> caption(List<byte[]> images, Sampling s, int maxTokens) { return answer(images, null, s, maxTokens); }

    /**
     * Answers to a question about each image (null: no question, a caption), as a chat message with the image and the
     * question gets them: the prefix [image][BOS question].
     */
    public List<String> answer(List<byte[]> images, String question, Sampling s, int maxTokens) {
        int[] bos = question == null ? new int[]{engine.tokenizer().id(Tokenizer.BOS)} : engine.prompt(question);
        List<Request> reqs = new ArrayList<>();
        for (int i = 0; i < images.size(); i++)
            reqs.add(Request.text(i, bos, images.get(i), maxTokens, new Sampling(s.temperature(), s.topK(), s.topP(), s.seed() + i)));
        List<String> out = new ArrayList<>();
        for (Event.Done d : engine.run(reqs)) out.add(d.text().trim());
        return out;
    }

    public List<String> caption(List<byte[]> images, Sampling s) { return caption(images, s, 32); }

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
