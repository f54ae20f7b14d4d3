package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Source;
import m6j.data.Split;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/** The Lucene HNSW index built by IndexBuilder, through /v1/search. */
class SearchTest {
    static Server server;

    @BeforeAll static void start() throws Exception { server = ServeFixture.server(); }

    static JsonNode search(String body) throws Exception {
        var r = BadInputTest.post("/v1/search", body, ServeFixture.KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return RequestJson.MAPPER.readTree(r.body()).get("data");
    }

    @Test void hnswAgreesWithExactSearch() {
        IndexBuilder.Report r = ServeFixture.indexReport;
        assertThat(r.items()).isGreaterThan(100);
        assertThat(r.recallQueries()).isPositive();
        assertThat(r.hnswRecallAt10()).isGreaterThanOrEqualTo(0.95);
    }

    @Test void textQueryReturnsTopKByScore() throws Exception {
        JsonNode d = search("{\"query\":\"a pair of trousers\",\"k\":7}");
        assertThat(d).hasSize(7);
        for (int i = 1; i < d.size(); i++) assertThat(d.get(i).get("score").asDouble()).isLessThanOrEqualTo(d.get(i - 1).get("score").asDouble());
    }

    @Test void anIndexedImageFindsItselfFirst() throws Exception {
        Example e = Corpus.open(ServeFixture.corpus).examples(Split.TRAIN, Source.OPENCLIPART).get(0);
        String url = "data:image/png;base64," + Base64.getEncoder().encodeToString(ImageInput.png(e.image(), 32));
        JsonNode d = search("{\"image\":\"" + url + "\",\"k\":5,\"kind\":\"image\"}");
        assertThat(d.get(0).get("id").asText()).isEqualTo(e.id());
        assertThat(d.get(0).get("score").asDouble()).isGreaterThan(0.999);
        for (JsonNode h : d) {
            assertThat(h.get("kind").asText()).isEqualTo("image");
            assertThat(h.get("image").asText()).startsWith("data:image/png;base64,");
        }
    }
}
