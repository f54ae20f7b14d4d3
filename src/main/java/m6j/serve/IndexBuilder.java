package m6j.serve;

import m6j.infer.Embedder;
import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Source;
import m6j.data.Split;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Embeds corpus images and texts (both splits) into a {@link VectorIndex}, then measures it: recall@10 of HNSW
 * against exact search on the same embeddings, and text->image recall@10 of held-out Open Clip Art titles
 * (does a title find its own image among the indexed images?).
 */
public final class IndexBuilder {
    public record Report(int items, int images, int texts, double buildSeconds, int recallQueries, double hnswRecallAt10,
                         int titleQueries, double titleToImageRecallAt10, double titleToImageRecallAt10Exact, double chanceAt10) {}

    static final int BATCH = 64;

    private IndexBuilder() {}

    public static Report build(Embedder emb, Corpus corpus, Path out, int perSource, PrintStream log) throws IOException {
        if (corpus.imageSize() != emb.imageSize())
            throw new IllegalArgumentException("corpus images are " + corpus.imageSize() + " px but the model reads " + emb.imageSize() + " px");
        long t0 = System.nanoTime();
        List<Example> chosen = new ArrayList<>();
        List<Example> heldOutTitles = new ArrayList<>();
        for (Source src : Source.values()) {
            int n = 0;
            for (Split split : Split.values())
                for (Example e : corpus.examples(split, src)) {
                    if (n >= perSource) break;
                    n++;
                    chosen.add(e);
                    if (split == Split.TEST && src == Source.OPENCLIPART && e.hasImage() && !e.text().isBlank()) heldOutTitles.add(e);
                }
            if (n > 0) log.printf("  %-15s %d examples%n", src.id(), n);
        }
        List<VectorIndex.Item> raw = new ArrayList<>();
        for (int from = 0; from < chosen.size(); from += BATCH) {
            List<Example> part = chosen.subList(from, Math.min(chosen.size(), from + BATCH));
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
        List<VectorIndex.Item> items = VectorIndex.write(out, raw);
        double secs = (System.nanoTime() - t0) / 1e9;
        int images = (int) items.stream().filter(i -> i.kind().equals("image")).count();
        try (VectorIndex vi = VectorIndex.open(out)) {
            // HNSW vs exact: up to 40 held-out texts per source as queries over the whole index. Many corpus texts are
            // duplicates (Fashion-MNIST has 10 captions), so a hit counts when its exact score reaches the exact 10th
            // best (ties are interchangeable), not only when it is the same item.
            List<int[]> qids = new ArrayList<>();
            for (Source src : Source.values()) {
                int n = 0;
                for (Example e : corpus.examples(Split.TEST, src)) {
                    if (n >= 40 || e.text().isBlank()) continue;
                    qids.add(emb.idsClipped(e.text()));
                    n++;
                }
            }
            Map<String, float[]> byId = new HashMap<>();
            for (VectorIndex.Item it : items) byId.put(it.id(), it.vector());
            double found = 0;
            for (float[] raw1 : qids.isEmpty() ? List.<float[]>of() : emb.texts(qids)) {
                float[] q = vi.prepare(raw1, "text");
                List<String> ex = exact(items, q, 10, null);
                double tenth = dot(q, byId.get(ex.get(ex.size() - 1)));
                for (VectorIndex.Hit h : vi.search(q, 10, null)) if (dot(q, byId.get(h.id())) >= tenth - 1e-6) found++;
            }
            double recall = qids.isEmpty() ? Double.NaN : found / (10.0 * qids.size());
            int hit = 0, hitExact = 0;
            List<float[]> titles = heldOutTitles.isEmpty() ? List.of() : emb.texts(heldOutTitles.stream().map(e -> emb.idsClipped(e.text())).toList());
            for (int i = 0; i < titles.size(); i++) {
                Example e = heldOutTitles.get(i);
                float[] q = vi.prepare(titles.get(i), "text");
                if (vi.search(q, 10, "image").stream().anyMatch(h -> h.id().equals(e.id()))) hit++;
                if (exact(items, q, 10, "image").contains(e.id())) hitExact++;
            }
            int t = heldOutTitles.size();
            return new Report(items.size(), images, items.size() - images, secs, qids.size(), recall, t,
                    t == 0 ? Double.NaN : (double) hit / t, t == 0 ? Double.NaN : (double) hitExact / t, images == 0 ? Double.NaN : Math.min(1.0, 10.0 / images));
        }
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** Exact top-k ids by dot product (kind null = all). */
    static List<String> exact(List<VectorIndex.Item> items, float[] q, int k, String kind) {
        record Scored(String id, double s) {}
        List<Scored> all = new ArrayList<>();
        for (VectorIndex.Item it : items) {
            if (kind != null && !it.kind().equals(kind)) continue;
            double s = 0;
            for (int i = 0; i < q.length; i++) s += q[i] * it.vector()[i];
            all.add(new Scored(it.id(), s));
        }
        all.sort((a, b) -> Double.compare(b.s(), a.s()));
        return all.subList(0, Math.min(k, all.size())).stream().map(Scored::id).toList();
    }
}
