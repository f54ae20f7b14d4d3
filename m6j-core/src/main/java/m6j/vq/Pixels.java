package m6j.vq;

import m6j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.List;

/** RGB uint8 images (row-major HWC, as in the corpus) <-> float (B, C, H, W) tensors in [-1, 1]. */
public final class Pixels {
    private Pixels() {}

    /** channels 1 takes the mean of R, G and B. */
    public static Tensor toTensor(List<byte[]> rgb, int size, int channels) {
        int hw = size * size;
        float[] out = new float[rgb.size() * channels * hw];
        for (int i = 0; i < rgb.size(); i++) {
            byte[] img = rgb.get(i);
            if (img.length != hw * 3) throw new IllegalArgumentException("image has " + img.length + " bytes, expected " + hw * 3
                    + " (" + size + "x" + size + " RGB): build the corpus with --image-size " + size);
            int base = i * channels * hw;
            for (int p = 0; p < hw; p++) {
                int r = img[3 * p] & 0xff, g = img[3 * p + 1] & 0xff, b = img[3 * p + 2] & 0xff;
                if (channels == 1) out[base + p] = (r + g + b) / 382.5f - 1f;
                else {
                    out[base + p] = r / 127.5f - 1f;
                    out[base + hw + p] = g / 127.5f - 1f;
                    out[base + 2 * hw + p] = b / 127.5f - 1f;
                }
            }
        }
        return Tensors.floats(out, rgb.size(), channels, size, size);
    }

    /** (B, C, H, W) in [-1, 1] (clamped) -> RGB uint8 images; one channel is repeated as grey. */
    public static List<byte[]> toRgb(Tensor x) {
        int b = (int) x.size(0), c = (int) x.size(1), h = (int) x.size(2), w = (int) x.size(3), hw = h * w;
        float[] v = Tensors.toFloats(x);
        List<byte[]> out = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            byte[] img = new byte[hw * 3];
            int base = i * c * hw;
            for (int p = 0; p < hw; p++)
                for (int k = 0; k < 3; k++) img[3 * p + k] = toByte(v[base + (c == 1 ? 0 : k) * hw + p]);
            out.add(img);
        }
        return out;
    }

    static byte toByte(float v) {
        long q = Math.round((v + 1f) * 127.5f);
        return (byte) Math.max(0, Math.min(255, q));
    }

    /** PSNR in dB of uint8 images over the channels the model sees (grey: the mean of R, G, B). */
    public static double squaredError(byte[] a, byte[] b, int channels) {
        double se = 0;
        for (int p = 0; p < a.length / 3; p++) {
            if (channels == 1) {
                double x = ((a[3 * p] & 0xff) + (a[3 * p + 1] & 0xff) + (a[3 * p + 2] & 0xff)) / 3.0;
                double y = ((b[3 * p] & 0xff) + (b[3 * p + 1] & 0xff) + (b[3 * p + 2] & 0xff)) / 3.0;
                se += (x - y) * (x - y);
            } else {
                for (int k = 0; k < 3; k++) { double d = (a[3 * p + k] & 0xff) - (b[3 * p + k] & 0xff); se += d * d; }
            }
        }
        return se;
    }

    public static double psnr(double mse) { return 10 * Math.log10(255.0 * 255.0 / Math.max(mse, 1e-10)); }
}
