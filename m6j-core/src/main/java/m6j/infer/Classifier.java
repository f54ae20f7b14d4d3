package m6j.infer;

import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.Lora;
import m6j.model.M6Model;
import m6j.task.Batch;
import m6j.task.Loss;
import m6j.task.Objective;
import m6j.task.Sequence;
import m6j.task.Sequences;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;

import java.util.ArrayList;
import java.util.List;

/**
 * Classification by label words: for a text (and optionally its image) every label is scored by the model's
 * log-likelihood of the label's words after [image][BOS text SEP] (the classify objective's sequence), divided by
 * the label's length in tokens plus one (EOS), so long labels are not penalised; the best label wins.
 */
public final class Classifier {
    private final M6Model model;
    private final Lora adapter;
    private final List<String> labels;
    private final List<int[]> labelIds = new ArrayList<>();
    private final Sequences seqs;
    private final Tokenizer tok;

    public Classifier(M6Model model, Lora adapter, Tokenizer tok, List<String> labels) {
        if (labels.isEmpty()) throw new IllegalArgumentException("no labels to choose from");
        this.model = model;
        this.adapter = adapter;
        this.tok = tok;
        this.labels = List.copyOf(labels);
        for (String l : labels) labelIds.add(tok.encode(l));
        this.seqs = new Sequences(tok, model.config.maxTextLen(), 1);
    }

    public List<String> labels() { return labels; }

    /** Per input, a score per label (mean log-likelihood per label token); images null or one per text (entries not null). */
    public double[][] scores(List<String> texts, List<byte[]> images) {
        int n = texts.size(), l = labels.size();
        double[][] out = new double[n][l];
        List<Sequence> batch = new ArrayList<>();
        List<byte[]> imgs = images == null ? null : new ArrayList<>();
        List<int[]> where = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] ids = tok.encode(texts.get(i));
            for (int j = 0; j < l; j++) {
                batch.add(seqs.classify(ids, labelIds.get(j)));
                if (imgs != null) imgs.add(images.get(i));
                where.add(new int[]{i, j});
                if (batch.size() == 64 || (i == n - 1 && j == l - 1)) {
                    double[] ll = run(batch, imgs);
                    for (int k = 0; k < ll.length; k++) {
                        int[] w = where.get(k);
                        out[w[0]][w[1]] = ll[k] / (labelIds.get(w[1]).length + 1);
                    }
                    batch.clear();
                    where.clear();
                    if (imgs != null) imgs.clear();
                }
            }
        }
        return out;
    }

    private double[] run(List<Sequence> batch, List<byte[]> imgs) {
        try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
            Batch b = Batch.of(Objective.CLASSIFY, batch, imgs, model.config.imageSize(), model.config.channels(), model.config.patches());
            return Loss.rowLogLikelihoods(model, b, ForwardContext.serving().adapter(adapter));
        }
    }

    /**
     * One label of an input, ranked: score is a softmax over the labels of the per-token log-likelihoods (a ranking,
     * not a calibrated probability), logprobPerToken the mean log-likelihood itself.
     */
    public record Ranked(String label, double score, double logprobPerToken) {}

    /** One input's scores (a row of {@link #scores}) as labels, best first. */
    public List<Ranked> ranked(double[] scores) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double v : scores) max = Math.max(max, v);
        double[] p = new double[scores.length];
        for (int i = 0; i < scores.length; i++) sum += (p[i] = Math.exp(scores[i] - max));
        List<Ranked> out = new ArrayList<>();
        for (int i = 0; i < scores.length; i++) out.add(new Ranked(labels.get(i), p[i] / sum, scores[i]));
        out.sort((a, b) -> Double.compare(b.logprobPerToken(), a.logprobPerToken()));
        return out;
    }

    /** The best label's index per input. */
    public static int[] argmax(double[][] scores) {
        int[] out = new int[scores.length];
        for (int i = 0; i < scores.length; i++)
            for (int j = 1; j < scores[i].length; j++) if (scores[i][j] > scores[i][out[i]]) out[i] = j;
        return out;
    }

    /** Accuracy and macro-F1 (mean over classes of F1; classes never predicted nor present are left out). */
    public record Score(double accuracy, double macroF1, int n) {
        public static Score of(int[] predicted, int[] truth, int classes) {
            int[] tp = new int[classes], fp = new int[classes], fn = new int[classes];
            int right = 0;
            for (int i = 0; i < truth.length; i++) {
                if (predicted[i] == truth[i]) { right++; tp[truth[i]]++; }
                else { fp[predicted[i]]++; fn[truth[i]]++; }
            }
            double f1 = 0;
            int seen = 0;
            for (int c = 0; c < classes; c++) {
                if (tp[c] + fp[c] + fn[c] == 0) continue;
                f1 += 2.0 * tp[c] / (2.0 * tp[c] + fp[c] + fn[c]);
                seen++;
            }
            return new Score(truth.length == 0 ? 0 : (double) right / truth.length, seen == 0 ? 0 : f1 / seen, truth.length);
        }
    }
}
