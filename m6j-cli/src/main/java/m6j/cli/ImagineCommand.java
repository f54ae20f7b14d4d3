package m6j.cli;

import m6j.infer.Imaginer;
import m6j.infer.Sampling;
import m6j.vq.ImageGrid;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** `m6j imagine PROMPT`: text -> N PNGs and a contact sheet, from a run trained with --vqgan. */
@Command(name = "imagine", mixinStandardHelpOptions = true,
        description = "Draw images for a text prompt (two-stage: the M6 model writes VQGAN codes, the VQGAN decodes them). Same seed, same images.")
public final class ImagineCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;
    @Mixin DrawOptions draw;

    @Parameters(index = "0", arity = "1", paramLabel = "PROMPT", description = "What to draw, e.g. \"a pair of ankle boots\".")
    String prompt;

    @Option(names = "-n", defaultValue = "8", description = "Images to draw (default: ${DEFAULT-VALUE}).") int n;

    @Option(names = {"-o", "--out"}, defaultValue = "work/imagine", description = "Output directory (default: ${DEFAULT-VALUE}).") Path out;

    @Option(names = "--scale", defaultValue = "2", description = "Integer upscaling of the written PNGs (default: ${DEFAULT-VALUE}).") int scale;

    /** Decoding options of the image commands. */
    public static final class DrawOptions {
        @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).") long seed;
        @Option(names = "--temperature", defaultValue = "1.0", description = "0 = greedy (default: ${DEFAULT-VALUE}).") double temperature;
        @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely codes (0 = all).") int topK;
        @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus mass (1 = off).") double topP;
        @Option(names = "--guidance", defaultValue = "3.0", description = "Classifier-free guidance scale (1 = off; default: ${DEFAULT-VALUE}).") double guidance;

        public Imaginer.Options options() { return new Imaginer.Options(new Sampling(temperature, topK, topP, seed), guidance); }
    }

    @Override public Integer call() throws Exception {
        if (n < 1 || n > 10_000) throw new IllegalArgumentException("-n must be in [1, 10000]");
        if (scale < 1 || scale > 16) throw new IllegalArgumentException("--scale must be in [1, 16]");
        if (prompt == null || prompt.isBlank())
            throw new IllegalArgumentException("empty prompt: say what to draw, e.g. \"a pair of ankle boots\"");
        Imaginer.Options o = draw.options();
        common.init();
        try (Imaginer im = Imaginer.load(model.model)) {
            im.promptIds(prompt);                                   // a too-long prompt fails before any work
            long t0 = System.nanoTime();
            List<byte[]> images = im.images(prompt, n, o);
            double secs = (System.nanoTime() - t0) / 1e9;
            int size = im.vq.config.imageSize();
            String slug = Imaginer.slug(prompt);
            for (int i = 0; i < images.size(); i++)
                ImageGrid.write(out.resolve(String.format("%s-%03d.png", slug, i)), ImageGrid.sheet(List.of(images.get(i)), size, 1, scale));
            Path sheet = out.resolve(slug + "-sheet.png");
            ImageGrid.write(sheet, ImageGrid.sheet(images, size, Math.min(8, images.size()), scale));
            System.out.printf("m6j: %d images for \"%s\" in %.1f s (%.1f images/s) -> %s%n", n, prompt.trim(), secs, n / secs, sheet);
        }
        return 0;
    }
}
