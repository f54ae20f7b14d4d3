package m6j.infer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The baseline a classifier must beat: multinomial logistic regression over bag-of-words counts (lower-cased
 * letter/digit runs, CJK characters one by one), trained by SGD with L2 on the training texts.
 */
public final class BagOfWords {
    private final Map<String, Integer> vocab = new HashMap<>();
    private final int classes;
    private double[][] w;                      // (classes, vocab + 1): the last column is the bias

    public BagOfWords(int classes) { this.classes = classes; }

    static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int cp : text.toLowerCase(Locale.ROOT).codePoints().toArray()) {
            if (Character.UnicodeScript.of(cp) == Character.UnicodeScript.HAN) {
                if (cur.length() > 0) { out.add(cur.toString()); cur.setLength(0); }
                out.add(new String(Character.toChars(cp)));
            } else if (Character.isLetterOrDigit(cp)) cur.appendCodePoint(cp);
            else if (cur.length() > 0) { out.add(cur.toString()); cur.setLength(0); }
        }
        if (cur.length() > 0) out.add(cur.toString());
        return out;
    }

    private Map<Integer, Double> features(String text, boolean grow) {
        Map<Integer, Double> f = new HashMap<>();
        for (String word : words(text)) {
            Integer id = vocab.get(word);
            if (id == null && grow) vocab.put(word, id = vocab.size());
            if (id != null) f.merge(id, 1.0, Double::sum);
        }
        return f;
    }

    public BagOfWords fit(List<String> texts, int[] labels, int epochs, long seed) {
        List<Map<Integer, Double>> xs = new ArrayList<>();
        for (String t : texts) xs.add(features(t, true));
        int v = vocab.size();
        w = new double[classes][v + 1];
        Random rng = new Random(seed);
        double lr = 0.5, l2 = 1e-4;
        int[] order = new int[xs.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        for (int e = 0; e < epochs; e++) {
            for (int i = order.length - 1; i > 0; i--) { int j = rng.nextInt(i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
            double step = lr / (1 + e);
            for (int i : order) {
                double[] p = probs(xs.get(i));
                for (int c = 0; c < classes; c++) {
                    double g = p[c] - (labels[i] == c ? 1 : 0);
                    for (var f : xs.get(i).entrySet()) w[c][f.getKey()] -= step * (g * f.getValue() + l2 * w[c][f.getKey()]);
                    w[c][v] -= step * g;
                }
            }
        }
        return this;
    }

    private double[] probs(Map<Integer, Double> x) {
        int v = w[0].length - 1;
        double[] z = new double[classes];
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
            z[c] = w[c][v];
            for (var f : x.entrySet()) z[c] += w[c][f.getKey()] * f.getValue();
            max = Math.max(max, z[c]);
        }
        double sum = 0;
        for (int c = 0; c < classes; c++) sum += (z[c] = Math.exp(z[c] - max));
        for (int c = 0; c < classes; c++) z[c] /= sum;
        return z;
    }

    public int[] predict(List<String> texts) {
        int[] out = new int[texts.size()];
        for (int i = 0; i < out.length; i++) {
            double[] p = probs(features(texts.get(i), false));
            for (int c = 1; c < classes; c++) if (p[c] > p[out[i]]) out[i] = c;
        }
        return out;
    }
}
