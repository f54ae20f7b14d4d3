package m6j.serve;

import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Source;
import m6j.data.Split;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Embeds corpus images and texts (both splits) into a {@link VectorIndex}, then measures it: recall@10 of HNSW
 * against exact search on the same embeddings, and text->image recall@10 of held-out Open Clip Art titles
 * (does a title find its own image among the indexed images?).
 */
public final class IndexBuilder {
    public record Report(int items, int images, int texts, double buildSeconds, int recallQueries, double hnswRecallAt10,
                         int titleQueries, double titleToImageRecallAt10, double titleToImageRecallAt10Exact, double chanceAt10) {}

    private IndexBuilder() {}

    public static Report build(Embedder emb, Corpus corpus, Path out, int perSource, PrintStream log) throws IOException {
        if (corpus.imageSize() != emb.imageSize())
            throw new IllegalArgumentException("corpus images are " + corpus.imageSize() + " px but the model reads " + emb.imageSize() + " px");
        long t0 = System.nanoTime();
        List<VectorIndex.Item> items = new ArrayList<>();
        List<Example> heldOutTitles = new ArrayList<>();
        for (Source src : Source.values()) {
            int n = 0;
            for (Split split : Split.values()) {
                for (Example e : corpus.examples(split, src)) {
                    if (n++ >= perSource) break;
                    if (e.hasImage())
                        items.add(new VectorIndex.Item(e.id(), "image", src.id(), e.text(), ImageInput.png(e.image(), corpus.imageSize()), emb.image(e.image())));
                    if (!e.text().isBlank()) {
                        int[] ids = emb.idsClipped(e.text());
                        items.add(new VectorIndex.Item(e.id() + "#text", "text", src.id(), e.text(), null, emb.text(ids)));
                    }
                    if (split == Split.TEST && src == Source.OPENCLIPART && e.hasImage() && !e.text().isBlank()) heldOutTitles.add(e);
                }
            }
            if (n > 0) log.printf("  %-15s %d examples embedded%n", src.id(), Math.min(n, perSource));
        }
        VectorIndex.write(out, items);
        double secs = (System.nanoTime() - t0) / 1e9;
        int images = (int) items.stream().filter(i -> i.kind().equals("image")).count();
        try (VectorIndex vi = VectorIndex.open(out)) {
            // HNSW vs exact: held-out texts (and titles) as queries over the whole index
            List<float[]> queries = new ArrayList<>();
            for (Source src : Source.values())
                for (Example e : corpus.examples(Split.TEST, src)) {
                    if (queries.size() >= 200 || e.text().isBlank()) continue;
                    queries.add(emb.text(emb.idsClipped(e.text())));
                }
            double found = 0;
            for (float[] q : queries) {
                Set<String> exact = new HashSet<>(exact(items, q, 10, null));
                for (VectorIndex.Hit h : vi.search(q, 10, null)) if (exact.contains(h.id())) found++;
            }
            double recall = queries.isEmpty() ? Double.NaN : found / (10.0 * queries.size());
            int hit = 0, hitExact = 0;
            for (Example e : heldOutTitles) {
                float[] q = emb.text(emb.idsClipped(e.text()));
                if (vi.search(q, 10, "image").stream().anyMatch(h -> h.id().equals(e.id()))) hit++;
                if (exact(items, q, 10, "image").contains(e.id())) hitExact++;
            }
            int t = heldOutTitles.size();
            return new Report(items.size(), images, items.size() - images, secs, queries.size(), recall, t,
                    t == 0 ? Double.NaN : (double) hit / t, t == 0 ? Double.NaN : (double) hitExact / t, images == 0 ? Double.NaN : Math.min(1.0, 10.0 / images));
        }
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
