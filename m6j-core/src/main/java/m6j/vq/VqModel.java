package m6j.vq;

import m6j.runtime.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * VQGAN generator: conv encoder with residual blocks -> codebook -> conv decoder with residual blocks.
 * (B, C, S, S) in [-1, 1] -> (B, D, g, g) -> codes (B, g, g) -> (B, D, g, g) -> (B, C, S, S).
 */
public final class VqModel {
    public final VqConfig config;
    /** Encoder and decoder weights (trained by AdamW). */
    public final Weights weights = new Weights(true);
    /** The codebook (trained by EMA). */
    public final Weights buffers = new Weights(false);
    public final Quantizer quantizer;
    private final Layers.Conv encIn, encOut, decIn, decOut;
    private final Layers.Res[] encRes, decRes;
    private final Layers.Conv[] down, up;
    private final Layers.Res encMid, decMid;
    private final Layers.Norm encNorm, decNorm;

    public VqModel(VqConfig c, long seed) {
        this.config = c;
        torch.manual_seed(seed);
        int[] w = c.widths();
        int n = w.length;
        encIn = Layers.conv(weights, "enc.in", c.channels(), w[0], 3, 1);
        encRes = new Layers.Res[n];
        down = new Layers.Conv[n - 1];
        for (int i = 0; i < n; i++) {
            encRes[i] = Layers.res(weights, "enc.res" + i, w[i]);
            if (i < n - 1) down[i] = Layers.conv(weights, "enc.down" + i, w[i], w[i + 1], 4, 2);
        }
        encMid = Layers.res(weights, "enc.mid", w[n - 1]);
        encNorm = Layers.norm(weights, "enc.norm", w[n - 1]);
        encOut = Layers.conv(weights, "enc.out", w[n - 1], c.codeDim(), 1, 1);
        decIn = Layers.conv(weights, "dec.in", c.codeDim(), w[n - 1], 3, 1);
        decMid = Layers.res(weights, "dec.mid", w[n - 1]);
        decRes = new Layers.Res[n];
        up = new Layers.Conv[n - 1];
        for (int i = n - 1; i >= 0; i--) {
            decRes[i] = Layers.res(weights, "dec.res" + i, w[i]);
            if (i > 0) up[i - 1] = Layers.conv(weights, "dec.up" + (i - 1), w[i], w[i - 1], 3, 1);
        }
        decNorm = Layers.norm(weights, "dec.norm", w[0]);
        decOut = Layers.conv(weights, "dec.out", w[0], c.channels(), 3, 1);
        quantizer = new Quantizer(buffers, c.codebookSize(), c.codeDim(), c.emaDecay(), 25);
    }

    /** (B, C, S, S) -> (B, D, g, g) before quantization. */
    public Tensor encode(Tensor x) {
        Tensor h = encIn.apply(x);
        for (int i = 0; i < encRes.length; i++) {
            h = encRes[i].apply(h);
            if (i < down.length) h = down[i].apply(h);
        }
        h = encMid.apply(h);
        return encOut.apply(torch.silu(encNorm.apply(h)));
    }

    /** (B, D, g, g) -> (B, C, S, S). */
    public Tensor decode(Tensor zq) {
        Tensor h = decMid.apply(decIn.apply(zq));
        for (int i = decRes.length - 1; i >= 0; i--) {
            h = decRes[i].apply(h);
            if (i > 0) h = up[i - 1].apply(Layers.up2(h));
        }
        return decOut.apply(torch.silu(decNorm.apply(h)));
    }

    /** RGB corpus images -> codes, g*g per image (row-major), in batches. */
    public long[][] codes(List<byte[]> images, int batch) {
        long[][] out = new long[images.size()][];
        for (int s = 0; s < images.size(); s += batch) {
            List<byte[]> part = images.subList(s, Math.min(images.size(), s + batch));
            try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
                Tensor x = Pixels.toTensor(part, config.imageSize(), config.channels());
                Tensor z = encode(x);
                Tensor idx = quantizer.nearest(z.permute(0, 2, 3, 1).reshape(-1, config.codeDim()));
                long[] all = Tensors.toLongs(idx);
                int per = config.codes();
                for (int i = 0; i < part.size(); i++) out[s + i] = Arrays.copyOfRange(all, i * per, (i + 1) * per);
            }
        }
        return out;
    }

    /** Codes (g*g each) -> RGB images of imageSize. */
    public List<byte[]> images(long[][] codes) {
        int g = config.grid();
        long[] flat = new long[codes.length * g * g];
        for (int i = 0; i < codes.length; i++) {
            if (codes[i].length != g * g) throw new IllegalArgumentException("need " + g * g + " codes per image, got " + codes[i].length);
            for (int j = 0; j < codes[i].length; j++) {
                if (codes[i][j] < 0 || codes[i][j] >= config.codebookSize())
                    throw new IllegalArgumentException("code " + codes[i][j] + " outside the codebook of " + config.codebookSize());
                flat[i * g * g + j] = codes[i][j];
            }
        }
        List<byte[]> out = new ArrayList<>();
        try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            Tensor c = Tensors.longs(flat, codes.length, g, g);
            out.addAll(Pixels.toRgb(decode(quantizer.lookup(c))));
        }
        return out;
    }

    /** Round trip through the codes (what held-out PSNR measures). */
    public List<byte[]> reconstruct(List<byte[]> images, int batch) { return images(codes(images, batch)); }
}
