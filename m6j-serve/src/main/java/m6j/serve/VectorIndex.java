package m6j.serve;

import m6j.infer.Embedder;
import com.fasterxml.jackson.core.type.TypeReference;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Lucene HNSW index of unit-length embeddings (dot product = cosine) with each item's id, kind (image or text),
 * source, text and, for images, a PNG thumbnail. Built by `m6j index build`, searched by /v1/search.
 * Pooled states of one model all point in much the same direction, and images and texts each in their own, so
 * every vector is centred by the mean of its kind (stored in centers.json) and renormalised before it is indexed
 * or used as a query: cosines then spread out, HNSW can tell neighbours apart, and the modality gap shrinks.
 */
public final class VectorIndex implements AutoCloseable {
    public record Item(String id, String kind, String source, String text, byte[] png, float[] vector) {}

    public record Hit(String id, String kind, String source, String text, byte[] png, double score) {}

    static final String VEC = "vec";
    private final DirectoryReader reader;
    private final IndexSearcher searcher;
    static final String CENTERS = "centers.json";
    private final FSDirectory dir;
    private final Map<String, float[]> centers;

    private VectorIndex(FSDirectory dir, Path path) throws IOException {
        this.dir = dir;
        this.centers = RequestJson.MAPPER.readValue(path.resolve(CENTERS).toFile(),
                new TypeReference<Map<String, float[]>>() {});
        this.reader = DirectoryReader.open(dir);
        this.searcher = new IndexSearcher(reader);
    }

    public static VectorIndex open(Path path) throws IOException {
        if (!Files.isDirectory(path)) throw new IOException("no index at " + path + " (make one with: m6j index build)");
        if (!Files.isRegularFile(path.resolve(CENTERS))) throw new IOException("not an m6j index (no " + CENTERS + "): " + path);
        return new VectorIndex(FSDirectory.open(path), path);
    }

    /** Writes the index; returns the items with the vectors as stored (centred by kind, unit length). */
    public static List<Item> write(Path path, List<Item> raw) throws IOException {
        Files.createDirectories(path);
        Map<String, float[]> centers = new TreeMap<>();
        Map<String, Integer> counts = new HashMap<>();
        for (Item it : raw) {
            float[] c = centers.computeIfAbsent(it.kind(), k -> new float[it.vector().length]);
            for (int i = 0; i < c.length; i++) c[i] += it.vector()[i];
            counts.merge(it.kind(), 1, Integer::sum);
        }
        for (var e : centers.entrySet()) for (int i = 0; i < e.getValue().length; i++) e.getValue()[i] /= counts.get(e.getKey());
        List<Item> items = new ArrayList<>();
        for (Item it : raw) items.add(new Item(it.id(), it.kind(), it.source(), it.text(), it.png(), centre(it.vector(), centers.get(it.kind()))));
        RequestJson.MAPPER.writeValue(path.resolve(CENTERS).toFile(), centers);
        try (FSDirectory d = FSDirectory.open(path);
             IndexWriter w = new IndexWriter(d, new IndexWriterConfig().setOpenMode(IndexWriterConfig.OpenMode.CREATE))) {
            for (Item it : items) {
                Document doc = new Document();
                doc.add(new StringField("id", it.id(), Field.Store.YES));
                doc.add(new StringField("kind", it.kind(), Field.Store.YES));
                doc.add(new StoredField("source", it.source()));
                if (it.text() != null) doc.add(new StoredField("text", it.text()));
                if (it.png() != null) doc.add(new StoredField("png", new BytesRef(it.png())));
                doc.add(new KnnFloatVectorField(VEC, it.vector(), VectorSimilarityFunction.DOT_PRODUCT));
                w.addDocument(doc);
            }
            w.forceMerge(1);
        }
        return items;
    }

    static float[] centre(float[] v, float[] c) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] - (c == null ? 0 : c[i]);
        return Embedder.normalise(out);
    }

    /** A raw embedding of the given kind ("image" or "text") as a query vector of this index. */
    public float[] prepare(float[] raw, String kind) { return centre(raw, centers.get(kind)); }

    public int size() { return reader.numDocs(); }

    /**
     * Top k by HNSW for a prepared query; kind null = both kinds. Scores are cosine similarities (of centred
     * vectors). The graph is searched with a beam of at least 100 for recall, then cut to k.
     */
    public List<Hit> search(float[] query, int k, String kind) throws IOException {
        int beam = Math.max(k, 100);
        KnnFloatVectorQuery q = kind == null ? new KnnFloatVectorQuery(VEC, query, beam)
                : new KnnFloatVectorQuery(VEC, query, beam, new TermQuery(new Term("kind", kind)));
        List<Hit> out = new ArrayList<>();
        var stored = searcher.storedFields();
        for (ScoreDoc sd : searcher.search(q, k).scoreDocs) {   // hits come best first; keep k
            Document d = stored.document(sd.doc);
            BytesRef png = d.getBinaryValue("png");
            out.add(new Hit(d.get("id"), d.get("kind"), d.get("source"), d.get("text"),
                    png == null ? null : Arrays.copyOfRange(png.bytes, png.offset, png.offset + png.length),
                    2.0 * sd.score - 1.0));   // Lucene's DOT_PRODUCT score is (1 + dot) / 2
        }
        return out;
    }

    @Override public void close() throws IOException {
        reader.close();
        dir.close();
    }
}
