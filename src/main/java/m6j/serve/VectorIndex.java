package m6j.serve;

import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.Field;
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
import java.util.List;

/**
 * A Lucene HNSW index of unit-length embeddings (dot product = cosine) with each item's id, kind (image or text),
 * source, text and, for images, a PNG thumbnail. Built by `m6j index build`, searched by /v1/search.
 */
public final class VectorIndex implements AutoCloseable {
    public record Item(String id, String kind, String source, String text, byte[] png, float[] vector) {}

    public record Hit(String id, String kind, String source, String text, byte[] png, double score) {}

    static final String VEC = "vec";
    private final DirectoryReader reader;
    private final IndexSearcher searcher;
    private final FSDirectory dir;

    private VectorIndex(FSDirectory dir) throws IOException {
        this.dir = dir;
        this.reader = DirectoryReader.open(dir);
        this.searcher = new IndexSearcher(reader);
    }

    public static VectorIndex open(Path path) throws IOException {
        if (!Files.isDirectory(path)) throw new IOException("no index at " + path + " (make one with: m6j index build)");
        return new VectorIndex(FSDirectory.open(path));
    }

    public static void write(Path path, List<Item> items) throws IOException {
        Files.createDirectories(path);
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
    }

    public int size() { return reader.numDocs(); }

    /** Top k by HNSW; kind null = both kinds. Scores are cosine similarities. */
    public List<Hit> search(float[] query, int k, String kind) throws IOException {
        KnnFloatVectorQuery q = kind == null ? new KnnFloatVectorQuery(VEC, query, k)
                : new KnnFloatVectorQuery(VEC, query, k, new TermQuery(new Term("kind", kind)));
        List<Hit> out = new ArrayList<>();
        var stored = searcher.storedFields();
        for (ScoreDoc sd : searcher.search(q, k).scoreDocs) {
            Document d = stored.document(sd.doc);
            BytesRef png = d.getBinaryValue("png");
            out.add(new Hit(d.get("id"), d.get("kind"), d.get("source"), d.get("text"),
                    png == null ? null : java.util.Arrays.copyOfRange(png.bytes, png.offset, png.offset + png.length),
                    2.0 * sd.score - 1.0));   // Lucene's DOT_PRODUCT score is (1 + dot) / 2
        }
        return out;
    }

    @Override public void close() throws IOException {
        reader.close();
        dir.close();
    }
}
