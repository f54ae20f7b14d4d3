package m6j.infer;

import m6j.data.FashionMnistReader;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Scores text-to-image on Fashion-MNIST with the project's own classifier: per class c, n images drawn for the class
 * caption; class fidelity = share the classifier calls c; Frechet distance on its penultimate features against
 * held-out real images of c, next to two baselines decoded through the same VQGAN: uniformly random codes, and codes
 * sampled without the text. "all" pools the classes (fidelity: the mean; FD: all generated vs all real).
 */
public final class ImagineEval {
    public record Row(String label, double fidelity, double fd, double fdRandom, double fdNoText, double fidelityNoText) {}

    public record Report(List<Row> rows, int perClass, int real, double guidance, double temperature, int topK,
                         double seconds, double imagesPerSecond) {}

    private ImagineEval() {}

    /** sheet (if not null) receives the first `show` images of each class, class by class. */
    public static Report run(Imaginer im, FashionClassifier judge, List<byte[]> realImages, int[] realLabels, int n,
                             Imaginer.Options o, int show, List<byte[]> sheet, PrintStream log) {
        var real = judge.score(realImages);
        List<Row> rows = new ArrayList<>();
        List<double[]> allGen = new ArrayList<>(), allRand = new ArrayList<>(), allNo = new ArrayList<>();
        double fidSum = 0, fidNoSum = 0, genSeconds = 0;
        int classes = FashionMnistReader.CLASSES.size();
        for (int c = 0; c < classes; c++) {
            String prompt = FashionMnistReader.caption(FashionMnistReader.CLASSES.get(c));
            long seed = o.sampling().seed() + 1000L * c;
            Imaginer.Options oc = new Imaginer.Options(new Sampling(o.sampling().temperature(), o.sampling().topK(), o.sampling().topP(), seed), o.guidance());
            long t0 = System.nanoTime();
            List<byte[]> gen = im.images(prompt, n, oc);
            genSeconds += (System.nanoTime() - t0) / 1e9;
            List<byte[]> rand = im.vq.images(im.randomCodes(n, seed + 7));
            List<byte[]> noText = im.images(null, n, oc);
            if (sheet != null) sheet.addAll(gen.subList(0, Math.min(show, gen.size())));
            var g = judge.score(gen);
            var r = judge.score(rand);
            var u = judge.score(noText);
            List<double[]> realC = new ArrayList<>();
            for (int i = 0; i < realLabels.length; i++) if (realLabels[i] == c) realC.add(real.features()[i]);
            double[][] rc = realC.toArray(new double[0][]);
            double fid = share(g.predicted(), c), fidNo = share(u.predicted(), c);
            Row row = new Row(prompt, fid, Frechet.distance(g.features(), rc), Frechet.distance(r.features(), rc),
                    Frechet.distance(u.features(), rc), fidNo);
            rows.add(row);
            log.printf("%-20s fidelity %.2f  FD %.2f  (random codes %.2f, no text %.2f)%n", prompt, row.fidelity(), row.fd(), row.fdRandom(), row.fdNoText());
            fidSum += fid;
            fidNoSum += fidNo;
            for (double[] f : g.features()) allGen.add(f);
            for (double[] f : r.features()) allRand.add(f);
            for (double[] f : u.features()) allNo.add(f);
        }
        double[][] rf = real.features();
        rows.add(new Row("all", fidSum / classes, Frechet.distance(allGen.toArray(new double[0][]), rf),
                Frechet.distance(allRand.toArray(new double[0][]), rf), Frechet.distance(allNo.toArray(new double[0][]), rf), fidNoSum / classes));
        return new Report(rows, n, realImages.size(), o.guidance(), o.sampling().temperature(), o.sampling().topK(), genSeconds,
                n * classes / genSeconds);
    }

    private static double share(int[] pred, int c) {
        int k = 0;
        for (int p : pred) if (p == c) k++;
        return (double) k / pred.length;
    }
}
