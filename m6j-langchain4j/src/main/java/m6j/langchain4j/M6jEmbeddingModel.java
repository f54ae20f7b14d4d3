package m6j.langchain4j;

import m6j.api.M6j;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.output.Response;

import java.util.ArrayList;
import java.util.List;

/**
 * LangChain4j's EmbeddingModel over an m6j checkpoint in this JVM: unit-length vectors in the model's aligned
 * image-text space (m6j.api.M6j#embed), so a text segment store can also be searched with an image's vector.
 */
public final class M6jEmbeddingModel implements EmbeddingModel {
    private final M6j m6j;

    /** The loaded model; closing it stays with the caller. */
    public M6jEmbeddingModel(M6j m6j) { this.m6j = m6j; }

    @Override public Response<List<Embedding>> embedAll(List<TextSegment> segments) {
        List<Embedding> out = new ArrayList<>();
        for (TextSegment s : segments) out.add(Embedding.from(m6j.embed(s.text())));
        return Response.from(out);
    }

    @Override public int dimension() { return m6j.dimensions(); }

    @Override public String modelName() { return "m6j-" + m6j.config().name(); }
}
