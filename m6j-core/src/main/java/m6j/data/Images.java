package m6j.data;

import java.awt.image.BufferedImage;
import java.util.Arrays;

/**
 * Image preparation: everything becomes a square RGB uint8 HWC array. Downscaling averages exact pixel areas
 * (no aliasing on line art and emoji); upscaling is bilinear (Fashion-MNIST 28 -> 32 stays smooth).
 */
public final class Images {
    private Images() {}

    /** Flattens alpha on white, pads the shorter side with white (aspect kept, centred), resizes to size x size. */
    public static byte[] toSquareRgb(BufferedImage img, int size) {
        int w = img.getWidth(), h = img.getHeight();
        int side = Math.max(w, h);
        if (side > size) return shrinkSquareRgb(img, size);
        float[] px = new float[side * side * 3];
        Arrays.fill(px, 255f);
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        int ox = (side - w) / 2, oy = (side - h) / 2;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = ((y + oy) * side + (x + ox)) * 3;
                flatten(argb[y * w + x], px, o);
            }
        }
        return toBytes(resize(px, side, side, 3, size, size));
    }

    private static void flatten(int p, float[] dst, int o) {
        float a = (p >>> 24) / 255f;
        dst[o] = a * ((p >> 16) & 0xff) + (1 - a) * 255f;
        dst[o + 1] = a * ((p >> 8) & 0xff) + (1 - a) * 255f;
        dst[o + 2] = a * (p & 0xff) + (1 - a) * 255f;
    }

    /**
     * Area-average shrink of the white-padded square, one source row at a time: memory stays O(size^2) however
     * large the source is (some clip art is over 5000 px wide).
     */
    private static byte[] shrinkSquareRgb(BufferedImage img, int size) {
        int w = img.getWidth(), h = img.getHeight();
        int side = Math.max(w, h);
        int ox = (side - w) / 2, oy = (side - h) / 2;
        int[][] idx = new int[size][];
        float[][] wt = new float[size][];
        weights(side, size, idx, wt);
        // For each padded source row: the output rows it feeds and with what weight (area: at most 2).
        int[][] rowTo = new int[side][];
        float[][] rowW = new float[side][];
        for (int o = 0; o < size; o++) {
            for (int k = 0; k < idx[o].length; k++) {
                int i = idx[o][k];
                rowTo[i] = rowTo[i] == null ? new int[]{o} : new int[]{rowTo[i][0], o};
                rowW[i] = rowW[i] == null ? new float[]{wt[o][k]} : new float[]{rowW[i][0], wt[o][k]};
            }
        }
        float[] out = new float[size * size * 3];
        float[] line = new float[side * 3];
        float[] hrow = new float[size * 3];
        int[] argb = new int[w];
        for (int i = 0; i < side; i++) {
            if (rowTo[i] == null) continue;
            Arrays.fill(line, 255f);
            int y = i - oy;
            if (y >= 0 && y < h) {
                img.getRGB(0, y, w, 1, argb, 0, w);
                for (int x = 0; x < w; x++) flatten(argb[x], line, (x + ox) * 3);
            }
            Arrays.fill(hrow, 0f);
            for (int o = 0; o < size; o++) {
                for (int k = 0; k < idx[o].length; k++) {
                    int s = idx[o][k] * 3;
                    float f = wt[o][k];
                    hrow[o * 3] += f * line[s];
                    hrow[o * 3 + 1] += f * line[s + 1];
                    hrow[o * 3 + 2] += f * line[s + 2];
                }
            }
            for (int r = 0; r < rowTo[i].length; r++) {
                int base = rowTo[i][r] * size * 3;
                float f = rowW[i][r];
                for (int j = 0; j < hrow.length; j++) out[base + j] += f * hrow[j];
            }
        }
        return toBytes(out);
    }

    /** Grey uint8 (row-major w*h) to RGB uint8 size x size. */
    public static byte[] greyToRgb(byte[] grey, int w, int h, int size) {
        float[] g = new float[w * h];
        for (int i = 0; i < g.length; i++) g[i] = grey[i] & 0xff;
        float[] r = resize(g, w, h, 1, size, size);
        byte[] out = new byte[size * size * 3];
        for (int i = 0; i < r.length; i++) {
            byte v = clampByte(r[i]);
            out[3 * i] = v;
            out[3 * i + 1] = v;
            out[3 * i + 2] = v;
        }
        return out;
    }

    /** Downscales an image (alpha kept, premultiplied while averaging) so its longer side is at most maxSide. */
    public static BufferedImage downscaleArgb(BufferedImage img, int maxSide) {
        int w = img.getWidth(), h = img.getHeight();
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        int side = Math.max(w, h);
        int ow = w, oh = h;
        if (side > maxSide) {
            ow = Math.max(1, Math.round((float) w * maxSide / side));
            oh = Math.max(1, Math.round((float) h * maxSide / side));
        }
        float[] px = new float[w * h * 4];
        for (int i = 0; i < argb.length; i++) {
            int p = argb[i];
            float a = (p >>> 24) / 255f;
            px[4 * i] = a * ((p >> 16) & 0xff);
            px[4 * i + 1] = a * ((p >> 8) & 0xff);
            px[4 * i + 2] = a * (p & 0xff);
            px[4 * i + 3] = a * 255f;
        }
        float[] r = resize(px, w, h, 4, ow, oh);
        BufferedImage out = new BufferedImage(ow, oh, BufferedImage.TYPE_INT_ARGB);
        int[] dst = new int[ow * oh];
        for (int i = 0; i < dst.length; i++) {
            float a = r[4 * i + 3];
            int ai = clampByte(a) & 0xff;
            float inv = a > 0.5f ? 255f / a : 0f;
            dst[i] = ai << 24 | (clampByte(r[4 * i] * inv) & 0xff) << 16
                    | (clampByte(r[4 * i + 1] * inv) & 0xff) << 8 | (clampByte(r[4 * i + 2] * inv) & 0xff);
        }
        out.setRGB(0, 0, ow, oh, dst, 0, ow);
        return out;
    }

    /** Separable resize of an interleaved float image with c channels. */
    static float[] resize(float[] src, int w, int h, int c, int outW, int outH) {
        float[] tmp = w == outW ? src : resizeAxis(src, w, h, c, outW, true);
        return h == outH ? tmp : resizeAxis(tmp, outW, h, c, outH, false);
    }

    private static float[] resizeAxis(float[] src, int w, int h, int c, int out, boolean horizontal) {
        int in = horizontal ? w : h;
        int[][] idx = new int[out][];
        float[][] wt = new float[out][];
        weights(in, out, idx, wt);
        int ow = horizontal ? out : w, oh = horizontal ? h : out;
        float[] dst = new float[ow * oh * c];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int o = horizontal ? x : y;
                int d = (y * ow + x) * c;
                for (int k = 0; k < idx[o].length; k++) {
                    int s = horizontal ? (y * w + idx[o][k]) * c : (idx[o][k] * w + x) * c;
                    float f = wt[o][k];
                    for (int ch = 0; ch < c; ch++) dst[d + ch] += f * src[s + ch];
                }
            }
        }
        return dst;
    }

    /** Area weights when shrinking, bilinear (pixel-centre aligned, edge clamped) when growing. */
    private static void weights(int in, int out, int[][] idx, float[][] wt) {
        if (out <= in) {
            double scale = (double) in / out;
            for (int o = 0; o < out; o++) {
                double start = o * scale, end = (o + 1) * scale;
                int i0 = (int) Math.floor(start), i1 = Math.min(in, (int) Math.ceil(end));
                idx[o] = new int[i1 - i0];
                wt[o] = new float[i1 - i0];
                for (int i = i0; i < i1; i++) {
                    idx[o][i - i0] = i;
                    wt[o][i - i0] = (float) ((Math.min(end, i + 1) - Math.max(start, i)) / scale);
                }
            }
        } else {
            for (int o = 0; o < out; o++) {
                double x = (o + 0.5) * in / out - 0.5;
                int i0 = (int) Math.floor(x);
                float f = (float) (x - i0);
                idx[o] = new int[]{Math.max(0, Math.min(in - 1, i0)), Math.max(0, Math.min(in - 1, i0 + 1))};
                wt[o] = new float[]{1 - f, f};
            }
        }
    }

    private static byte[] toBytes(float[] f) {
        byte[] b = new byte[f.length];
        for (int i = 0; i < f.length; i++) b[i] = clampByte(f[i]);
        return b;
    }

    private static byte clampByte(float v) {
        return (byte) Math.max(0, Math.min(255, Math.round(v)));
    }
}
