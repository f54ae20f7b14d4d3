package m6j.serve;

import m6j.checkpoint.Checkpoint;
import m6j.infer.Imaginer;
import m6j.infer.Sampling;
import m6j.vq.ImageVocab;
import m6j.vq.VqCheckpoint;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * /v1/images/generations through the two-stage generator of a run trained with --vqgan: the served model writes
 * image codes (temperature 1, guidance 3, as `m6j imagine`), the run's VQGAN decodes them to PNGs.
 */
public final class TwoStageImages implements ImageGenerator {
    private final Imaginer imaginer;

    private TwoStageImages(Imaginer imaginer) { this.imaginer = imaginer; }

    /** The generator for a loaded checkpoint (the same model instance the server uses), if its run draws. */
    public static Optional<ImageGenerator> of(Checkpoint.Loaded l) throws IOException {
        Optional<ImageVocab> v = ImageVocab.find(l.dir());
        if (v.isEmpty()) return Optional.empty();
        return Optional.of(new TwoStageImages(new Imaginer(l.model(), l.tokenizer(), v.get(), VqCheckpoint.load(v.get().vqganDir(l.dir())))));
    }

    @Override public String size() {
        int s = imaginer.vq.config.imageSize();
        return s + "x" + s;
    }

    @Override public List<byte[]> generate(String prompt, int n, long seed) {
        List<byte[]> out = new ArrayList<>();
        for (byte[] rgb : imaginer.images(prompt, n, new Imaginer.Options(new Sampling(1.0, 0, 1.0, seed), 3.0)))
            out.add(ImageInput.png(rgb, imaginer.vq.config.imageSize()));
        return out;
    }
}
