package m6j.infer;

import m6j.optim.AdamW;
import m6j.runtime.Json;
import m6j.runtime.Safetensors;
import m6j.runtime.Tensors;
import m6j.runtime.Torch;
import m6j.vq.Pixels;
import m6j.vq.Weights;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The judge of the text-to-image evaluation, trained here on the Fashion-MNIST train split and kept apart from the
 * generator: a small CNN, grey 32x32 -> 3 x (conv 3x3, ReLU, max-pool) -> 128 features (penultimate, what the
 * Frechet distance compares) -> 10 classes. Checkpoint: DIR/classifier.safetensors + DIR/classifier.json.
 */
public final class FashionClassifier {
    public static final int FEATURES = 128, CLASSES = 10, SIZE = 32;
    public final Weights weights = new Weights(true);
    private final Tensor c1, b1, c2, b2, c3, b3, f1, g1, f2, g2;

    public FashionClassifier(long seed) {
        Torch.init();
        torch.manual_seed(seed);
        c1 = weights.conv("conv1.weight", 32, 1, 3); b1 = weights.zeros("conv1.bias", 32);
        c2 = weights.conv("conv2.weight", 64, 32, 3); b2 = weights.zeros("conv2.bias", 64);
        c3 = weights.conv("conv3.weight", 64, 64, 3); b3 = weights.zeros("conv3.bias", 64);
        f1 = weights.add("fc1.weight", () -> Tensors.normal(Math.sqrt(2.0 / 1024), torch.ScalarType.Float, FEATURES, 1024));
        g1 = weights.zeros("fc1.bias", FEATURES);
        f2 = weights.add("fc2.weight", () -> Tensors.normal(Math.sqrt(1.0 / FEATURES), torch.ScalarType.Float, CLASSES, FEATURES));
        g2 = weights.zeros("fc2.bias", CLASSES);
    }

    private static Tensor block(Tensor x, Tensor w, Tensor b) {
        Tensor h = torch.conv2d(x, w, Tensors.opt(b), new long[]{1, 1}, new long[]{1, 1}, new long[]{1, 1}, 1);
        return torch.max_pool2d(torch.relu(h), 2, 2);
    }

    /** (B, 1, 32, 32) -> penultimate features (B, 128). */
    public Tensor features(Tensor x) {
        Tensor h = block(block(block(x, c1, b1), c2, b2), c3, b3);                   // (B, 64, 4, 4)
        return torch.relu(torch.linear(h.reshape(x.size(0), -1), f1, Tensors.opt(g1)));
    }

    public Tensor logits(Tensor x) { return torch.linear(features(x), f2, Tensors.opt(g2)); }

    /** Features (n x 128) and predicted classes of RGB images (grey = mean of R, G, B). */
    public record Scored(double[][] features, int[] predicted) {}

    public Scored score(List<byte[]> rgb) {
        double[][] feats = new double[rgb.size()][];
        int[] pred = new int[rgb.size()];
        for (int s = 0; s < rgb.size(); s += 256) {
            List<byte[]> part = rgb.subList(s, Math.min(rgb.size(), s + 256));
            try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
                Tensor f = features(Pixels.toTensor(part, SIZE, 1));
                float[] fv = Tensors.toFloats(f);
                long[] p = Tensors.toLongs(torch.linear(f, f2, Tensors.opt(g2)).argmax(new LongOptional(1), false));
                for (int i = 0; i < part.size(); i++) {
                    double[] row = new double[FEATURES];
                    for (int j = 0; j < FEATURES; j++) row[j] = fv[i * FEATURES + j];
                    feats[s + i] = row;
                    pred[s + i] = (int) p[i];
                }
            }
        }
        return new Scored(feats, pred);
    }

    /** Cross-entropy training with AdamW; returns the accuracy on the held-out images. */
    public double train(List<byte[]> images, int[] labels, List<byte[]> testImages, int[] testLabels, int steps, int batch, long seed, PrintStream log) {
        AdamW opt = new AdamW(weights.named(), new AdamW.Options(0.9, 0.999, 1e-8, 0));
        Random rng = new Random(seed);
        long t0 = System.nanoTime();
        for (int step = 0; step < steps; step++) {
            List<byte[]> b = new ArrayList<>(batch);
            long[] y = new long[batch];
            for (int i = 0; i < batch; i++) { int k = rng.nextInt(images.size()); b.add(images.get(k)); y[i] = labels[k]; }
            double loss;
            try (PointerScope scope = new PointerScope()) {
                Tensor l = torch.cross_entropy(logits(Pixels.toTensor(b, SIZE, 1)), Tensors.longs(y, batch));
                l.backward();
                loss = l.item_double();
            }
            opt.update(1e-3 * (step < steps * 0.7 ? 1 : 0.2));
            AdamW.zeroGrad(weights.named());
            if ((step + 1) % 250 == 0) log.printf("classifier step %d  loss %.3f  %.0f ms/step%n", step + 1, loss, (System.nanoTime() - t0) / 1e6 / (step + 1));
        }
        int[] p = score(testImages).predicted();
        int ok = 0;
        for (int i = 0; i < p.length; i++) if (p[i] == testLabels[i]) ok++;
        return (double) ok / p.length;
    }

    public void save(Path dir, Map<String, Object> info) throws IOException {
        Files.createDirectories(dir);
        Safetensors.write(dir.resolve("classifier.safetensors"), weights.named(), Map.of("m6j", "fashion-classifier"));
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("classifier.json").toFile(), info);
    }

    public static boolean exists(Path dir) { return Files.isRegularFile(dir.resolve("classifier.safetensors")); }

    public static FashionClassifier load(Path dir) throws IOException {
        FashionClassifier c = new FashionClassifier(0);
        try {
            c.weights.load(Safetensors.read(dir.resolve("classifier.safetensors")).tensors(), dir.resolve("classifier.safetensors").toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        return c;
    }
}
