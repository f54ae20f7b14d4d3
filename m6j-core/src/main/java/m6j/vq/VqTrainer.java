package m6j.vq;

import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.optim.AdamW;
import m6j.optim.LrSchedule;
import m6j.runtime.Json;
import m6j.runtime.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Trains a VQGAN on corpus images: L1 + MSE reconstruction, EMA codebook with commitment loss and dead-code
 * restarts, and after discStart steps a hinge-loss patch discriminator (weight discWeight). Logs codebook usage,
 * writes reconstruction grids (recon-step-NNNNNN.png) and the checkpoint to the output directory.
 */
public final class VqTrainer {
    /** How to train; validated here so the CLI reports bad values as usage errors. */
    public record Options(Path out, int steps, int batchSize, double lr, long seed, int logEvery, int sampleEvery, double maxSeconds) {
        public Options {
            if (out == null) throw new IllegalArgumentException("--out is required");
            if (steps < 1) throw new IllegalArgumentException("--steps must be >= 1");
            if (batchSize < 2) throw new IllegalArgumentException("--batch-size must be >= 2");
            if (!(lr > 0)) throw new IllegalArgumentException("--lr must be > 0");
            if (logEvery < 1 || sampleEvery < 1) throw new IllegalArgumentException("--log-every and --sample-every must be >= 1");
            if (!(maxSeconds > 0)) throw new IllegalArgumentException("--max-seconds must be > 0");
        }
    }

    private final VqModel model;
    private final Discriminator disc;
    private final Options o;
    private final List<byte[]> train, held;
    private final PrintStream log;

    public VqTrainer(VqConfig c, Options o, List<byte[]> train, List<byte[]> held, PrintStream log) {
        if (train.size() < o.batchSize()) throw new IllegalArgumentException("only " + train.size() + " training images for batch size " + o.batchSize());
        this.o = o;
        this.train = train;
        this.held = held;
        this.log = log;
        model = new VqModel(c, o.seed());
        disc = new Discriminator(c, o.seed());
    }

    public VqModel model() { return model; }

    /** Trains, saves the checkpoint and returns the held-out report. */
    public VqEval.Report run() throws IOException {
        VqConfig c = model.config;
        Files.createDirectories(o.out());
        AdamW optG = new AdamW(model.weights.named(), new AdamW.Options(0.9, 0.99, 1e-8, 0));
        AdamW optD = new AdamW(disc.weights.named(), new AdamW.Options(0.5, 0.9, 1e-8, 0));
        LrSchedule sched = new LrSchedule(o.lr(), o.lr() * 0.05, Math.min(100, o.steps() / 10), o.steps());
        List<byte[]> fixed = held.subList(0, Math.min(16, held.size()));
        log.printf("m6j: VQGAN %s: %,d generator + %,d discriminator parameters; %dx%dx%d -> %dx%d codes of %d; %,d training images%n",
                c.name(), model.weights.count(), disc.weights.count(), c.imageSize(), c.imageSize(), c.channels(),
                c.grid(), c.grid(), c.codebookSize(), train.size());
        long t0 = System.nanoTime();
        double recSum = 0, pplSum = 0, advSum = 0, dSum = 0;
        int restartSum = 0, n = 0, step = 0;
        try (BufferedWriter metrics = Files.newBufferedWriter(o.out().resolve("metrics.jsonl"))) {
            for (; step < o.steps(); step++) {
                Random rng = rng(o.seed(), step);
                List<byte[]> batch = new ArrayList<>(o.batchSize());
                for (int i = 0; i < o.batchSize(); i++) batch.add(train.get(rng.nextInt(train.size())));
                boolean adv = step >= c.discStart() && c.discWeight() > 0;
                float[] z;
                long[] idx;
                double rec, adversarial = 0, dLoss = 0;
                try (PointerScope scope = new PointerScope()) {
                    torch.manual_seed(o.seed() * 1_000_003L + step);
                    Tensor x = Pixels.toTensor(batch, c.imageSize(), c.channels());                 // (B, C, S, S)
                    Tensor ze = model.encode(x);                                                    // (B, D, g, g)
                    Quantizer.Result q = model.quantizer.quantize(ze);
                    Tensor xr = model.decode(q.quantized());                                        // (B, C, S, S)
                    Tensor recL = torch.mse_loss(xr, x).add(torch.l1_loss(xr, x));
                    Tensor loss = recL.add(q.commitLoss().mul(Tensors.scalar(c.commitment())));
                    if (adv) {
                        Tensor g = disc.apply(xr, true).mean().neg();                               // generator: fool D
                        Tensor dl = torch.relu(Tensors.ones(ScalarType.Float, 1).sub(disc.apply(x, false))).mean()
                                .add(torch.relu(Tensors.ones(ScalarType.Float, 1).add(disc.apply(xr.detach(), false))).mean());
                        loss = loss.add(g.mul(Tensors.scalar(c.discWeight()))).add(dl);
                        adversarial = g.item_double();
                        dLoss = dl.item_double();
                    }
                    loss.backward();
                    rec = torch.mse_loss(xr.detach(), x).item_double();
                    z = Tensors.toFloats(ze.permute(0, 2, 3, 1).reshape(-1, c.codeDim()));
                    idx = Tensors.toLongs(q.indices());
                }
                double lr = sched.at(step);                           // updates run outside the scope (docs/ENGINE.md, note 2)
                optG.update(lr);
                if (adv) optD.update(lr);
                AdamW.zeroGrad(model.weights.named());
                AdamW.zeroGrad(disc.weights.named());
                restartSum += model.quantizer.update(z, idx, rng);
                double ppl = Quantizer.usage(idx, c.codebookSize())[0];
                recSum += rec; pplSum += ppl; advSum += adversarial; dSum += dLoss; n++;
                if ((step + 1) % o.logEvery() == 0 || step + 1 == o.steps()) {
                    double s = (System.nanoTime() - t0) / 1e9;
                    ObjectNode r = Json.MAPPER.createObjectNode();
                    r.put("step", step + 1).put("mse", recSum / n).put("psnr", Pixels.psnr(recSum / n * 127.5 * 127.5))
                            .put("perplexity", ppl(pplSum / n)).put("restarted", restartSum).put("gAdv", advSum / n).put("dLoss", dSum / n)
                            .put("lr", lr).put("seconds", s);
                    metrics.write(Json.MAPPER.writeValueAsString(r));
                    metrics.newLine();
                    metrics.flush();
                    log.printf("step %5d  mse %.4f (%.1f dB)  batch perplexity %.1f  restarted %d  adv %.3f  D %.3f  %.0f ms/step%n",
                            step + 1, recSum / n, Pixels.psnr(recSum / n * 127.5 * 127.5), pplSum / n, restartSum, advSum / n, dSum / n,
                            s * 1000 / (step + 1));
                    recSum = pplSum = advSum = dSum = 0;
                    restartSum = n = 0;
                }
                if ((step + 1) % o.sampleEvery() == 0) sample(fixed, step + 1);
                if ((System.nanoTime() - t0) / 1e9 >= o.maxSeconds()) {
                    log.printf("m6j: time limit of %.0f s reached at step %d%n", o.maxSeconds(), step + 1);
                    step++;
                    break;
                }
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        VqCheckpoint.save(o.out(), model, disc);
        sample(fixed, step);
        VqEval.Report rep = VqEval.run(model, held, 64);
        ObjectNode info = Json.MAPPER.createObjectNode();
        info.put("steps", step).put("batchSize", o.batchSize()).put("lr", o.lr()).put("seed", o.seed())
                .put("trainImages", train.size()).put("seconds", seconds);
        info.set("heldOut", Json.MAPPER.valueToTree(rep));
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(o.out().resolve("train.json").toFile(), info);
        log.printf("m6j: trained %d steps in %.1f min -> %s%n", step, seconds / 60, o.out());
        return rep;
    }

    private static double ppl(double v) { return Math.round(v * 10) / 10.0; }

    /** Originals (top rows) over their reconstructions (bottom rows). */
    private void sample(List<byte[]> fixed, int step) throws IOException {
        List<byte[]> grid = new ArrayList<>(fixed);
        grid.addAll(model.reconstruct(fixed, fixed.size()));
        ImageGrid.write(o.out().resolve(String.format("recon-step-%06d.png", step)), ImageGrid.sheet(grid, model.config.imageSize(), 8, 2));
    }

    /** SplitMix64 over (seed, step): nearby seeds give unrelated streams. */
    static Random rng(long seed, long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return new Random(z ^ (z >>> 31));
    }
}
