package m6j.serve;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** /health and the Prometheus text at /metrics after some traffic (both open without the API key). */
class MetricsTest {
    @Test void metricsCountRequestsLatencyBatchesQueueAndTokens() throws Exception {
        Server s = ServeFixture.server();
        assertThat(BadInputTest.post("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"max_tokens\":4,\"n\":3}", ServeFixture.KEY).statusCode()).isEqualTo(200);
        assertThat(BadInputTest.post("/v1/completions", "{\"model\":\"nope\",\"prompt\":\"The\"}", ServeFixture.KEY).statusCode()).isEqualTo(404);
        HttpResponse<String> h = BadInputTest.HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(h.statusCode()).isEqualTo(200);
        assertThat(h.body()).contains("\"status\":\"ok\"");
        HttpResponse<String> m = BadInputTest.HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(m.statusCode()).isEqualTo(200);
        assertThat(m.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
        assertThat(m.body()).contains("m6j_requests_total{path=\"/v1/completions\",status=\"200\"}", "m6j_requests_total{path=\"/v1/completions\",status=\"404\"}",
                "# TYPE m6j_request_duration_seconds histogram", "m6j_request_duration_seconds_bucket{path=\"/v1/completions\",le=\"+Inf\"}",
                "# TYPE m6j_batch_size histogram", "m6j_queue_depth ", "m6j_active_sequences ", "m6j_resident_bytes ");
        assertThat(m.body()).doesNotContain("per_second");           // rates are the dashboard's: rate() over the counters
        long tokens = m.body().lines().filter(l -> l.startsWith("m6j_generated_tokens_total ")).mapToLong(l -> (long) Double.parseDouble(l.split(" ")[1])).sum();
        assertThat(tokens).isGreaterThanOrEqualTo(3);
    }
}
