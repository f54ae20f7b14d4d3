package m6j.serve;

import m6j.infer.Embedder;
import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Source;
import m6j.data.Split;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.bytedeco.javacpp.PointerScope;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Embeds corpus images and texts (both splits) into a {@link VectorIndex}, then measures it: recall@10 of HNSW
 * against exact search on the same embeddings for held-out text and image queries, search latency (p50, p99) and
 * queries per second, size on disk, and text->image recall@10 of held-out Open Clip Art titles (does a title find its
 * own image among the indexed images?).
 */
public final class IndexBuilder {
    /** Times in seconds (m6j index build prints the machine's matmul rate beside them). */
    public record Report(int items, int images, int texts, double embedSeconds, double indexSeconds, long bytesOnDisk,
                         int recallQueries, double hnswRecallAt10, double queriesPerSecond, double p50Ms, double p99Ms,
                         int titleQueries, double titleToImageRecallAt10, double titleToImageRecallAt10Exact, double chanceAt10) {}

    static final int BATCH = 64, QUERIES_PER_SOURCE = 40;

    private IndexBuilder() {}

    /** perSource: most examples per source (Integer.MAX_VALUE: all of them). */
    public static Report build(Embedder emb, Corpus corpus, Path out, int perSource, PrintStream log) throws IOException {
        if (corpus.imageSize() != emb.imageSize())
            throw new IllegalArgumentException("corpus images are " + corpus.imageSize() + " px but the model reads " + emb.imageSize() + " px");
        long t0 = System.nanoTime();
        List<Example> chosen = new ArrayList<>();
        List<Example> heldOutTitles = new ArrayList<>(), queries = new ArrayList<>();
        for (Source src : Source.values()) {
            int n = 0;
            for (Split split : Split.values())
                for (Example e : corpus.examples(split, src)) {
                    if (n >= perSource) break;
                    n++;
                    chosen.add(e);
                    if (split == Split.TEST && src == Source.OPENCLIPART && e.hasImage() && !e.text().isBlank()) heldOutTitles.add(e);
                }
            List<Example> test = corpus.examples(Split.TEST, src);       // queries, whether indexed or not
            queries.addAll(test.subList(0, Math.min(QUERIES_PER_SOURCE, test.size())));
            if (n > 0) log.printf("  %-15s %d examples%n", src.id(), n);
        }
        List<VectorIndex.Item> raw = new ArrayList<>();
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("embed").setInitialMax(chosen.size()).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500).setUnit(" ex", 1).showSpeed().setConsumer(new ConsoleProgressBarConsumer(log)).build()) {
            for (int from = 0; from < chosen.size(); from += BATCH) {
                List<Example> part = chosen.subList(from, Math.min(chosen.size(), from + BATCH));
                try (PointerScope scope = new PointerScope()) {
                    List<Example> withImage = part.stream().filter(Example::hasImage).toList();
                    List<Example> withText = part.stream().filter(e -> !e.text().isBlank()).toList();
                    if (!withImage.isEmpty()) {
                        List<float[]> v = emb.images(withImage.stream().map(Example::image).toList());
                        for (int i = 0; i < v.size(); i++) {
                            Example e = withImage.get(i);
                            raw.add(new VectorIndex.Item(e.id(), "image", e.source().id(), e.text(), ImageInput.png(e.image(), corpus.imageSize()), v.get(i)));
                        }
                    }
                    if (!withText.isEmpty()) {
                        List<float[]> v = emb.texts(withText.stream().map(e -> emb.idsClipped(e.text())).toList());
                        for (int i = 0; i < v.size(); i++) {
                            Example e = withText.get(i);
                            raw.add(new VectorIndex.Item(e.id() + "#text", "text", e.source().id(), e.text(), null, v.get(i)));
                        }
                    }
                }
                bar.stepBy(part.size());
            }
        }
        double embedSecs = (System.nanoTime() - t0) / 1e9;
        long t1 = System.nanoTime();
        List<VectorIndex.Item> items = VectorIndex.write(out, raw);
        raw = null;
        double indexSecs = (System.nanoTime() - t1) / 1e9;
        long bytes;
        try (var files = Files.walk(out)) {
            bytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        int images = (int) items.stream().filter(i -> i.kind().equals("image")).count();
        float[][] vecs = new float[items.size()][];
        boolean[] isImage = new boolean[items.size()];
        for (int i = 0; i < vecs.length; i++) { vecs[i] = items.get(i).vector(); isImage[i] = items.get(i).kind().equals("image"); }
        Map<String, Integer> at = new HashMap<>();
        for (int i = 0; i < vecs.length; i++) at.put(items.get(i).id(), i);
        try (VectorIndex vi = VectorIndex.open(out)) {
            // HNSW vs exact: held-out texts and images (up to 40 of each per source) as queries over the whole index.
            // Many corpus texts are duplicates (Fashion-MNIST has 10 captions), so a hit counts when its exact score
            // reaches the exact 10th best (ties are interchangeable), not only when it is the same item.
            List<float[]> qs = new ArrayList<>();
            List<Example> qText = queries.stream().filter(e -> !e.text().isBlank()).toList(), qImage = queries.stream().filter(Example::hasImage).toList();
            if (!qText.isEmpty()) for (float[] v : emb.texts(qText.stream().map(e -> emb.idsClipped(e.text())).toList())) qs.add(vi.prepare(v, "text"));
            for (int from = 0; from < qImage.size(); from += BATCH)
                for (float[] v : emb.images(qImage.subList(from, Math.min(qImage.size(), from + BATCH)).stream().map(Example::image).toList()))
                    qs.add(vi.prepare(v, "image"));
            for (int i = 0; i < Math.min(20, qs.size()); i++) vi.search(qs.get(i), 10, null);    // warm up
            double found = 0;
            double[] ms = new double[qs.size()];
            long searchNanos = 0;
            for (int i = 0; i < qs.size(); i++) {
                float[] q = qs.get(i);
                long s0 = System.nanoTime();
                List<VectorIndex.Hit> hits = vi.search(q, 10, null);
                long dt = System.nanoTime() - s0;
                searchNanos += dt;
                ms[i] = dt / 1e6;
                int[] ex = exact(vecs, null, q, 10);
                double tenth = dot(q, vecs[ex[ex.length - 1]]);
                for (VectorIndex.Hit h : hits) if (dot(q, vecs[at.get(h.id())]) >= tenth - 1e-6) found++;
            }
            Arrays.sort(ms);
            double recall = qs.isEmpty() ? Double.NaN : found / (10.0 * qs.size());
            int hit = 0, hitExact = 0;
            List<float[]> titles = heldOutTitles.isEmpty() ? List.of() : emb.texts(heldOutTitles.stream().map(e -> emb.idsClipped(e.text())).toList());
            for (int i = 0; i < titles.size(); i++) {
                Example e = heldOutTitles.get(i);
                float[] q = vi.prepare(titles.get(i), "text");
                if (vi.search(q, 10, "image").stream().anyMatch(h -> h.id().equals(e.id()))) hit++;
                for (int j : exact(vecs, isImage, q, 10)) if (items.get(j).id().equals(e.id())) hitExact++;
            }
            int t = heldOutTitles.size();
            return new Report(items.size(), images, items.size() - images, embedSecs, indexSecs, bytes, qs.size(), recall,
                    qs.isEmpty() ? Double.NaN : qs.size() / (searchNanos / 1e9), percentile(ms, 0.5), percentile(ms, 0.99), t,
                    t == 0 ? Double.NaN : (double) hit / t, t == 0 ? Double.NaN : (double) hitExact / t, images == 0 ? Double.NaN : Math.min(1.0, 10.0 / images));
        }
    }

    private static double percentile(double[] sorted, double p) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** Exact top-k rows by dot product, best first (mask null = all rows), through a k-sized min-heap. */
    static int[] exact(float[][] vecs, boolean[] mask, float[] q, int k) {
        PriorityQueue<double[]> heap = new PriorityQueue<>(Comparator.comparingDouble(x -> x[0]));
        for (int i = 0; i < vecs.length; i++) {
            if (mask != null && !mask[i]) continue;
            double s = dot(q, vecs[i]);
            if (heap.size() < k) heap.add(new double[]{s, i});
            else if (s > heap.peek()[0]) { heap.poll(); heap.add(new double[]{s, i}); }
        }
        int[] out = new int[heap.size()];
        for (int i = out.length - 1; i >= 0; i--) out[i] = (int) heap.poll()[1];
        return out;
    }
}
