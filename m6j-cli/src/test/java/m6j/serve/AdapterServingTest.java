package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.checkpoint.Checkpoint;
import m6j.infer.Engine;
import m6j.infer.Event;
import m6j.infer.Request;
import m6j.infer.Sampling;
import m6j.model.Lora;
import m6j.train.Trainer;
import m6j.train.TrainOptions;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A base and a LoRA adapter served together: both model ids, per-adapter sub-batches give what each gives alone. */
class AdapterServingTest {
    static Checkpoint.Loaded l;
    static Lora adapter;
    static Server server;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll static void start(@TempDir Path dir) throws Exception {
        l = ServeFixture.model();
        Path run = dir.resolve("tuned");
        TrainOptions o = TrainOptions.builder(ServeFixture.corpus, run).from(l.dir()).lora(Lora.Config.of(4)).steps(4).batchSize(8)
                .lr(1e-2).warmup(1).checkpointEvery(4).mixture("itt=1,lm=1").build();
        new Trainer(ServeFixture.CONFIG, o, false, new PrintStream(OutputStream.nullOutputStream())).run(4);
        adapter = Lora.load(Checkpoint.latest(run).orElseThrow(), l.model());
        server = new Server(l, false, null, ServeOptions.defaults(ServeFixture.MODEL).withPort(0), Map.of("tuned", adapter));
    }

    @AfterAll static void stop() throws Exception { server.close(); }

    static JsonNode get(String path) throws Exception {
        return RequestJson.MAPPER.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + path)).build(), HttpResponse.BodyHandlers.ofString()).body());
    }

    static HttpResponse<String> complete(String model, String prompt) throws Exception {
        String body = RequestJson.MAPPER.createObjectNode().put("model", model).put("prompt", prompt).put("max_tokens", 10).put("temperature", 0).toString();
        return HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test void bothModelsAreListedAndAnswer() throws Exception {
        List<String> ids = new ArrayList<>();
        get("/v1/models").path("data").forEach(m -> ids.add(m.path("id").asText()));
        assertThat(ids).containsExactly(ServeFixture.MODEL, "tuned");
        assertThat(get("/v1/models/tuned").path("parent").asText()).isEqualTo(ServeFixture.MODEL);
        HttpResponse<String> r = complete("tuned", "The jury");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(RequestJson.MAPPER.readTree(r.body()).path("model").asText()).isEqualTo("tuned");
        assertThat(complete("nope", "The").statusCode()).isEqualTo(404);
    }

    @Test void mixedBatchesGiveWhatEachModelGivesAlone() throws Exception {
        String[] prompts = {"The jury said", "It was", "A pair of", "床前明月光，"};
        try (Engine e = Engine.local(l.model(), l.tokenizer())) {
            List<Request> mixed = new ArrayList<>();
            for (int i = 0; i < 8; i++)
                mixed.add(Request.text(i, e.prompt(prompts[i % 4]), null, 10, Sampling.greedy()).adapter(i % 2 == 0 ? null : adapter));
            List<String> together = e.run(mixed).stream().map(Event.Done::text).toList();
            for (int i = 0; i < 8; i++) {
                String alone = e.run(List.of(Request.text(0, e.prompt(prompts[i % 4]), null, 10, Sampling.greedy()).adapter(i % 2 == 0 ? null : adapter)))
                        .get(0).text();
                assertThat(together.get(i)).as("request %d", i).isEqualTo(alone);
                String http = RequestJson.MAPPER.readTree(complete(i % 2 == 0 ? ServeFixture.MODEL : "tuned", prompts[i % 4]).body())
                        .path("choices").get(0).path("text").asText();
                assertThat(http).as("over HTTP, request %d", i).isEqualTo(alone);
            }
        }
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test void classifyScoresTheGivenLabelsOrTheModelsOwn() throws Exception {
        HttpResponse<String> r = post("/v1/classify", "{\"model\":\"tuned\",\"input\":\"a red dress\",\"labels\":[\"dress\",\"boot\",\"poem\"]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode data = RequestJson.MAPPER.readTree(r.body()).path("data");
        assertThat(data).hasSize(3);
        double sum = 0;
        for (int i = 0; i < 3; i++) {
            sum += data.get(i).path("score").asDouble();
            if (i > 0) assertThat(data.get(i).path("score").asDouble()).isLessThanOrEqualTo(data.get(i - 1).path("score").asDouble());
        }
        assertThat(sum).isCloseTo(1.0, Offset.offset(1e-9));
        assertThat(post("/v1/classify", "{\"model\":\"tuned\",\"input\":\"a red dress\"}").statusCode()).as("no labels anywhere").isEqualTo(400);
        server.labels("tuned", List.of("dress", "boot"));
        JsonNode own = RequestJson.MAPPER.readTree(post("/v1/classify", "{\"model\":\"tuned\",\"input\":\"a red dress\"}").body()).path("data");
        assertThat(own).hasSize(2);
        assertThat(post("/v1/classify", "{\"model\":\"tuned\"}").statusCode()).as("nothing to classify").isEqualTo(400);
        assertThat(complete("tuned", "still").statusCode()).as("the server goes on").isEqualTo(200);
    }
}
