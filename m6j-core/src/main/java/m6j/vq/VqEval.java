package m6j.vq;

import java.util.List;

/** Held-out reconstruction quality and codebook usage of a VQGAN. */
public final class VqEval {
    /**
     * psnr: over all pixels of all images (from the pooled MSE); meanImagePsnr: mean of per-image PSNRs;
     * perplexity: exp(entropy) of code usage over the images; deadCodes: codes never used.
     */
    public record Report(int images, double psnr, double meanImagePsnr, double perplexity, int usedCodes, int deadCodes, int codebookSize) {}

    private VqEval() {}

    public static Report run(VqModel m, List<byte[]> images, int batch) {
        long[][] codes = m.codes(images, batch);
        List<byte[]> rec = m.images(codes);
        int ch = m.config.channels();
        double se = 0, psnrSum = 0;
        long values = 0;
        for (int i = 0; i < images.size(); i++) {
            double e = Pixels.squaredError(images.get(i), rec.get(i), ch);
            int per = images.get(i).length / 3 * (ch == 1 ? 1 : 3);
            se += e;
            values += per;
            psnrSum += Pixels.psnr(e / per);
        }
        long[] flat = new long[codes.length * m.config.codes()];
        for (int i = 0; i < codes.length; i++) System.arraycopy(codes[i], 0, flat, i * codes[i].length, codes[i].length);
        double[] u = Quantizer.usage(flat, m.config.codebookSize());
        return new Report(images.size(), Pixels.psnr(se / values), psnrSum / images.size(), u[0],
                m.config.codebookSize() - (int) u[1], (int) u[1], m.config.codebookSize());
    }
}
