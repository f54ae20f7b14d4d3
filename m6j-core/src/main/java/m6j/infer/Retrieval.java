package m6j.infer;

import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.FashionMnistReader;
import m6j.data.Source;
import m6j.data.Split;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Held-out retrieval in one embedding space, by exact search (cosine of unit vectors):
 * <ul>
 * <li>titled images (Open Clip Art, Twemoji, a user's captioned images): each held-out title finds its own image
 * among all held-out images of every image source (text->image), each image its own title among all held-out titles
 * (image->text); recall@1/5/10 against chance k/gallery;</li>
 * <li>classes (Fashion-MNIST, a user's labelled images): each class named by prompt templates ("a photo of a
 * sandal.", "一张凉鞋的照片"), the templates' embeddings averaged; image->class recall@k (recall@1 is classification
 * by retrieval, from class names alone) and class->image precision@k over that source's held-out images.</li>
 * </ul>
 */
public final class Retrieval {
    /** recall (or precision) at 1, 5, 10, and chance at 1 and at 10. */
    public record Result(String source, String task, int queries, int gallery, double at1, double at5, double at10, double chance1, double chance10) {}

    /** Prompt templates for class names; {} is the name with its article ("a sandal"), {zh} the Chinese name. */
    public static final List<String> ENGLISH = List.of("{}", "a photo of {}.", "a picture of {}.", "an image of {}.");
    public static final List<String> CHINESE = List.of("一张{zh}的照片", "{zh}");

    /** Chinese names of the Fashion-MNIST classes, for the Chinese templates. */
    static final Map<String, String> FASHION_ZH = Map.of("t-shirt", "T恤", "trousers", "裤子", "pullover", "套头衫", "dress", "连衣裙",
            "coat", "外套", "sandal", "凉鞋", "shirt", "衬衫", "sneaker", "运动鞋", "bag", "包", "ankle boot", "短靴");

    private final Embedder emb;
    private final Corpus corpus;
    private final int max;

    /** max: held-out examples per source at most. */
    public Retrieval(Embedder emb, Corpus corpus, int max) {
        this.emb = emb;
        this.corpus = corpus;
        this.max = max;
    }

    public List<Result> run() {
        List<Result> out = new ArrayList<>();
        List<Example> images = new ArrayList<>(), titled = new ArrayList<>();
        List<Source> classed = new ArrayList<>();
        for (Source s : corpus.sources()) {
            if (!s.hasImages()) continue;
            List<Example> test = heldOut(s);
            if (test.isEmpty()) continue;
            images.addAll(test);
            if (Evaluator.byClass(s, corpus.labels(Split.TRAIN, s))) classed.add(s);
            else titled.addAll(test.stream().filter(e -> !e.text().isBlank()).toList());
        }
        if (images.isEmpty()) return out;
        List<float[]> imageVecs = embedImages(images);
        if (!titled.isEmpty()) {
            List<float[]> titleVecs = embedTexts(titled.stream().map(Example::text).toList());
            for (Source s : titled.stream().map(Example::source).distinct().toList()) {
                // text->image: a title against every held-out image; image->text: an image against every held-out title
                int[] t2i = new int[3], i2t = new int[3];
                int n = 0;
                for (int q = 0; q < titled.size(); q++) {
                    Example e = titled.get(q);
                    if (!e.source().equals(s)) continue;
                    n++;
                    count(t2i, rank(titleVecs.get(q), imageVecs, images.indexOf(e)));
                    count(i2t, rank(imageVecs.get(images.indexOf(e)), titleVecs, q));
                }
                out.add(result(s, "text->image", n, images.size(), t2i));
                out.add(result(s, "image->text", n, titled.size(), i2t));
            }
        }
        for (Source s : classed) out.addAll(classes(s, images, imageVecs, ENGLISH, "en"));
        if (classed.contains(Source.FASHION_MNIST)) out.addAll(classes(Source.FASHION_MNIST, images, imageVecs, CHINESE, "zh"));
        return out;
    }

    /** Classification by retrieval and class->image precision for one labelled source, with one set of templates. */
    private List<Result> classes(Source s, List<Example> images, List<float[]> imageVecs, List<String> templates, String lang) {
        List<String> labels = corpus.labels(Split.TRAIN, s);
        List<float[]> classVecs = classEmbeddings(labels, templates);
        List<Integer> mine = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) if (images.get(i).source().equals(s)) mine.add(i);
        int[] i2c = new int[3];
        for (int i : mine) count(i2c, rank(imageVecs.get(i), classVecs, labels.indexOf(images.get(i).label())));
        // class->image: share of the top k of this source's held-out images that are of the class
        double[] prec = new double[3];
        int[] ks = {1, 5, 10};
        List<float[]> pool = mine.stream().map(imageVecs::get).toList();
        for (int c = 0; c < labels.size(); c++) {
            int[] order = order(classVecs.get(c), pool);
            for (int k = 0; k < 3; k++) {
                int hits = 0;
                for (int j = 0; j < Math.min(ks[k], order.length); j++) if (images.get(mine.get(order[j])).label().equals(labels.get(c))) hits++;
                prec[k] += (double) hits / ks[k] / labels.size();
            }
        }
        double share = 0;                                    // chance of precision: the mean class share
        for (String l : labels) share += Math.pow(mine.stream().filter(i -> images.get(i).label().equals(l)).count() / (double) mine.size(), 2);
        return List.of(result(s, "image->class (" + lang + ")", mine.size(), labels.size(), i2c),
                new Result(s.id(), "class->image precision (" + lang + ")", labels.size(), mine.size(), prec[0], prec[1], prec[2], share, share));
    }

    /** Per label, the normalised mean of its templates' unit embeddings. */
    public List<float[]> classEmbeddings(List<String> labels, List<String> templates) {
        List<String> prompts = new ArrayList<>();
        for (String l : labels) for (String t : templates) prompts.add(prompt(t, l));
        List<float[]> v = embedTexts(prompts);
        List<float[]> out = new ArrayList<>();
        for (int c = 0; c < labels.size(); c++) {
            float[] m = new float[v.get(0).length];
            for (int t = 0; t < templates.size(); t++) {
                float[] x = v.get(c * templates.size() + t);
                for (int i = 0; i < m.length; i++) m[i] += x[i];
            }
            out.add(Embedder.normalise(m));
        }
        return out;
    }

    /** A template filled with a class name: "{}" takes it with its article ("a sandal"), "{zh}" its Chinese name. */
    static String prompt(String template, String label) {
        String en = FashionMnistReader.CLASSES.contains(label) ? FashionMnistReader.caption(label)
                : ("aeiou".indexOf(label.toLowerCase(Locale.ROOT).charAt(0)) >= 0 ? "an " : "a ") + label;
        return template.replace("{zh}", FASHION_ZH.getOrDefault(label, label)).replace("{}", en);
    }

    private List<Example> heldOut(Source s) {
        List<Example> test = corpus.examples(Split.TEST, s).stream().filter(Example::hasImage).toList();
        return test.subList(0, Math.min(max, test.size()));
    }

    private List<float[]> embedImages(List<Example> ex) {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < ex.size(); i += 64) out.addAll(emb.images(ex.subList(i, Math.min(ex.size(), i + 64)).stream().map(Example::image).toList()));
        return out;
    }

    private List<float[]> embedTexts(List<String> texts) {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < texts.size(); i += 64)
            out.addAll(emb.texts(texts.subList(i, Math.min(texts.size(), i + 64)).stream().map(emb::idsClipped).toList()));
        return out;
    }

    /** 0-based rank of gallery item target for query q (ties count against it). */
    static int rank(float[] q, List<float[]> gallery, int target) {
        double s = dot(q, gallery.get(target));
        int r = 0;
        for (int i = 0; i < gallery.size(); i++) if (i != target && dot(q, gallery.get(i)) >= s) r++;
        return r;
    }

    /** Gallery indices by descending score. */
    static int[] order(float[] q, List<float[]> gallery) {
        Integer[] idx = new Integer[gallery.size()];
        double[] s = new double[gallery.size()];
        for (int i = 0; i < idx.length; i++) { idx[i] = i; s[i] = dot(q, gallery.get(i)); }
        Arrays.sort(idx, (a, b) -> Double.compare(s[b], s[a]));
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static void count(int[] hits, int rank) {
        if (rank < 1) hits[0]++;
        if (rank < 5) hits[1]++;
        if (rank < 10) hits[2]++;
    }

    private static Result result(Source s, String task, int n, int gallery, int[] hits) {
        return new Result(s.id(), task, n, gallery, (double) hits[0] / n, (double) hits[1] / n, (double) hits[2] / n, 1.0 / gallery, Math.min(1.0, 10.0 / gallery));
    }
}
