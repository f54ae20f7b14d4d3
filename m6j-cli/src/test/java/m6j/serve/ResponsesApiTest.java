package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.helpers.ResponseAccumulator;
import com.openai.models.responses.EasyInputMessage;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseInputContent;
import com.openai.models.responses.ResponseInputImage;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseInputText;
import com.openai.models.responses.ResponseOutputMessage;
import com.openai.models.responses.ResponseOutputText;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.StructuredResponse;
import m6j.infer.Engine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * /v1/responses through the official OpenAI Java SDK (client.responses()), unchanged, against a running server; its
 * answers are checked against /v1/chat/completions for the same conversation (one engine path, so greedy text,
 * token counts and finish agree), its stream against its plain answer and the SDK's own ResponseAccumulator.
 */
class ResponsesApiTest {
    static Server server;
    static OpenAIClient client;

    @BeforeAll static void start() throws Exception {
        server = ServeFixture.server();
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey(ServeFixture.KEY).maxRetries(0).build();
    }

    @AfterEach void serverStillAnswers() throws Exception {
        HttpResponse<String> r = BadInputTest.post("/v1/responses", "{\"model\":\"m6j-test\",\"input\":\"The\",\"max_output_tokens\":2}", ServeFixture.KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    /** The one message's one output_text. */
    static String text(Response r) {
        assertThat(r.output()).hasSize(1);
        ResponseOutputMessage m = r.output().get(0).message().orElseThrow();
        assertThat(m.id()).startsWith("msg_");
        assertThat(m.content()).hasSize(1);
        ResponseOutputText t = m.content().get(0).outputText().orElseThrow();
        assertThat(t.annotations()).isEmpty();
        return t.text();
    }

    /** /v1/chat/completions' greedy answer to the same conversation, over plain HTTP. */
    static JsonNode chat(String messages, int maxTokens) throws Exception {
        HttpResponse<String> r = BadInputTest.post("/v1/chat/completions", "{\"model\":\"m6j-test\",\"temperature\":0,\"max_tokens\":" + maxTokens
                + ",\"messages\":" + messages + "}", ServeFixture.KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return RequestJson.MAPPER.readTree(r.body());
    }

    static void sameAsChat(Response r, JsonNode chat) {
        assertThat(text(r)).isEqualTo(chat.at("/choices/0/message/content").asText());
        assertThat(r.usage().orElseThrow().inputTokens()).isEqualTo(chat.at("/usage/prompt_tokens").asLong());
        assertThat(r.usage().orElseThrow().outputTokens()).isEqualTo(chat.at("/usage/completion_tokens").asLong());
        assertThat(r.status().orElseThrow()).isEqualTo(chat.at("/choices/0/finish_reason").asText().equals("length") ? ResponseStatus.INCOMPLETE : ResponseStatus.COMPLETED);
    }

    @Test void plainTextInput() throws Exception {
        Response r = client.responses().create(ResponseCreateParams.builder().model(ServeFixture.MODEL).input("The weather today")
                .maxOutputTokens(8).temperature(0.0).build());
        assertThat(r.id()).startsWith("resp_");
        assertThat(r._object_().asString()).hasValue("response");
        assertThat(r.createdAt()).isPositive();
        assertThat(r.model().asString()).isEqualTo(ServeFixture.MODEL);
        var u = r.usage().orElseThrow();
        assertThat(u.outputTokens()).isBetween(0L, 8L);
        assertThat(u.totalTokens()).isEqualTo(u.inputTokens() + u.outputTokens());
        assertThat(r.instructions()).isEmpty();
        sameAsChat(r, chat("[{\"role\":\"user\",\"content\":\"The weather today\"}]", 8));
    }

    @Test void messagesWithInstructions() throws Exception {
        List<ResponseInputItem> input = List.of(
                ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder().role(EasyInputMessage.Role.USER).content("Hello").build()),
                ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder().role(EasyInputMessage.Role.ASSISTANT).content("Hi there").build()),
                ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder().role(EasyInputMessage.Role.DEVELOPER).content("Be short").build()),
                ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder().role(EasyInputMessage.Role.USER)
                        .contentOfResponseInputMessageContentList(List.of(ResponseInputContent.ofInputText(ResponseInputText.builder().text("A story").build()))).build()));
        Response r = client.responses().create(ResponseCreateParams.builder().model(ServeFixture.MODEL).instructions("You tell tales.")
                .inputOfResponse(input).maxOutputTokens(8).temperature(0.0).build());
        assertThat(r.instructions().orElseThrow().asString()).isEqualTo("You tell tales.");
        sameAsChat(r, chat("[{\"role\":\"system\",\"content\":\"You tell tales.\"},{\"role\":\"user\",\"content\":\"Hello\"},"
                + "{\"role\":\"assistant\",\"content\":\"Hi there\"},{\"role\":\"developer\",\"content\":\"Be short\"},{\"role\":\"user\",\"content\":\"A story\"}]", 8));
        // the instructions are in the prompt: without them, fewer input tokens
        Response bare = client.responses().create(ResponseCreateParams.builder().model(ServeFixture.MODEL).inputOfResponse(input).maxOutputTokens(1).build());
        assertThat(bare.usage().orElseThrow().inputTokens()).isLessThan(r.usage().orElseThrow().inputTokens());
    }

    @Test void imageInput() throws Exception {
        String url = "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(ServeFixture.samplePng()));
        Response r = client.responses().create(ResponseCreateParams.builder().model(ServeFixture.MODEL).maxOutputTokens(8).temperature(0.0)
                .inputOfResponse(List.of(ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder().role(EasyInputMessage.Role.USER)
                        .contentOfResponseInputMessageContentList(List.of(
                                ResponseInputContent.ofInputImage(ResponseInputImage.builder().imageUrl(url).detail(ResponseInputImage.Detail.AUTO).build()),
                                ResponseInputContent.ofInputText(ResponseInputText.builder().text("What is this?").build()))).build())))
                .build());
        assertThat(r.usage().orElseThrow().inputTokens()).as("the image's patches are input tokens").isGreaterThan(ServeFixture.CONFIG.patches());
        sameAsChat(r, chat("[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + url + "\"}},"
                + "{\"type\":\"text\",\"text\":\"What is this?\"}]}]", 8));
    }

    @Test void maxOutputTokensEndsIncompleteAndLargerLimitsAreClamped() throws Exception {
        int incomplete = 0;
        for (String prompt : List.of("Once upon a time", "The weather today", "A red dress", "Hello")) {
            JsonNode c = chat("[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]", 2);
            Response r = client.responses().create(ResponseCreateParams.builder().model(ServeFixture.MODEL).input(prompt).maxOutputTokens(2).temperature(0.0).build());
            sameAsChat(r, c);
            if (r.status().orElseThrow().equals(ResponseStatus.INCOMPLETE)) {
                incomplete++;
                assertThat(r.incompleteDetails().orElseThrow().reason().orElseThrow().asString()).isEqualTo("max_output_tokens");
                assertThat(r.usage().orElseThrow().outputTokens()).isEqualTo(2);
                assertThat(r.output().get(0).message().orElseThrow().status()).isEqualTo(ResponseOutputMessage.Status.INCOMPLETE);
            } else assertThat(r.incompleteDetails()).isEmpty();
        }
        assertThat(incomplete).as("some greedy answer runs past 2 tokens").isPositive();
        int ctx = ServeFixture.CONFIG.maxTextLen();
        Response big = client.responses().create(ResponseCreateParams.builder().model(ServeFixture.MODEL).input("Once upon a time")
                .maxOutputTokens(1_000_000).temperature(1.5).build());
        assertThat(big.usage().orElseThrow().totalTokens()).isLessThanOrEqualTo(ctx);
    }

    @Test void streamingEventsAssembleToThePlainAnswer() {
        for (String prompt : List.of("Once upon a time", "Hello")) {
            ResponseCreateParams p = ResponseCreateParams.builder().model(ServeFixture.MODEL).input(prompt).maxOutputTokens(10).temperature(0.0).build();
            Response plain = client.responses().create(p);
            List<String> types = new ArrayList<>();
            List<Long> seqs = new ArrayList<>();
            StringBuilder deltas = new StringBuilder();
            ResponseAccumulator acc = ResponseAccumulator.create();
            String done = null;
            try (StreamResponse<ResponseStreamEvent> s = client.responses().createStreaming(p)) {
                for (ResponseStreamEvent e : (Iterable<ResponseStreamEvent>) s.stream()::iterator) {
                    acc.accumulate(e);
                    JsonNode raw = e._json().orElseThrow().convert(JsonNode.class);      // the event as the server sent it
                    types.add(raw.get("type").asText());
                    seqs.add(raw.get("sequence_number").asLong());
                    e.outputTextDelta().ifPresent(d -> deltas.append(d.delta()));
                    if (e.outputTextDone().isPresent()) done = e.outputTextDone().get().text();
                    e.created().ifPresent(c -> assertThat(c.response().status()).hasValue(ResponseStatus.IN_PROGRESS));
                }
            }
            String end = plain.status().orElseThrow().equals(ResponseStatus.COMPLETED) ? "response.completed" : "response.incomplete";
            List<String> want = new ArrayList<>(List.of("response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"));
            for (int i = 8; i < types.size(); i++) want.add("response.output_text.delta");
            want.addAll(List.of("response.output_text.done", "response.content_part.done", "response.output_item.done", end));
            assertThat(types).isEqualTo(want);
            for (int i = 0; i < seqs.size(); i++) assertThat(seqs.get(i)).isEqualTo(i);
            assertThat(deltas.toString()).isEqualTo(text(plain)).isEqualTo(done);
            Response last = acc.response();
            assertThat(text(last)).isEqualTo(text(plain));
            assertThat(last.status()).isEqualTo(plain.status());
            assertThat(last.usage().orElseThrow().outputTokens()).isEqualTo(plain.usage().orElseThrow().outputTokens());
        }
    }

    /** What the SDK's structured outputs send (text.format json_schema, strict), decoded under the grammar. */
    public static class Pet {
        public String name;
        public long age;
    }

    @Test void structuredOutputFromAJavaClass() {
        for (int seed = 0; seed < 3; seed++) {
            StructuredResponse<Pet> r = client.responses().create(ResponseCreateParams.builder().model(ServeFixture.MODEL).input("JSON:")
                    .temperature(1.5).maxOutputTokens(60).text(Pet.class).build());
            Pet pet = r.output().get(0).message().orElseThrow().content().get(0).outputText().orElseThrow();
            assertThat(pet.name).isNotNull();
        }
    }

    @Test void unsupportedParametersAreRefusedByName() throws Exception {
        String base = "{\"model\":\"m6j-test\",\"input\":\"hi\",\"max_output_tokens\":2,";
        String[][] cases = {
                {"\"previous_response_id\":\"resp_123\"", "previous_response_id"},
                {"\"store\":true", "store"},
                {"\"background\":true", "background"},
                {"\"tools\":[{\"type\":\"web_search\"}]", "tools"},
                {"\"tool_choice\":\"required\"", "tool_choice"},
                {"\"reasoning\":{\"effort\":\"high\"}", "reasoning"},
                {"\"include\":[\"message.output_text.logprobs\"]", "include"},
                {"\"conversation\":\"conv_1\"", "conversation"},
                {"\"truncation\":\"auto\"", "truncation"},
                {"\"text\":{\"verbosity\":\"low\"}", "text.verbosity"},
                {"\"seed\":3", "seed"},
                {"\"no_such_parameter\":1", "no_such_parameter"}};
        for (String[] c : cases) {
            JsonNode e = BadInputTest.bad("/v1/responses", base + c[0] + "}", 400, "unsupported_parameter");
            assertThat(e.get("param").asText()).isEqualTo(c[1]);
        }
        JsonNode file = BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_file\",\"file_id\":\"f\"}]}]}",
                400, "unsupported_parameter");
        assertThat(file.get("param").asText()).isEqualTo("input[0].content[0].type");
        JsonNode call = BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\"}]}",
                400, "unsupported_parameter");
        assertThat(call.get("param").asText()).isEqualTo("input[0].type");
        // their no-op values pass
        HttpResponse<String> ok = BadInputTest.post("/v1/responses", base + "\"store\":false,\"background\":false,\"tools\":[],\"include\":[],\"tool_choice\":\"auto\","
                + "\"truncation\":\"disabled\",\"parallel_tool_calls\":true,\"user\":\"u1\",\"metadata\":{\"k\":\"v\"},\"previous_response_id\":null,"
                + "\"text\":{\"format\":{\"type\":\"text\"},\"verbosity\":\"medium\"}}", ServeFixture.KEY);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        JsonNode r = RequestJson.MAPPER.readTree(ok.body());
        assertThat(r.at("/metadata/k").asText()).isEqualTo("v");
        assertThat(r.get("store").asBoolean()).isFalse();
        // and the SDK raises the refusal as its exception
        assertThatThrownBy(() -> client.responses().create(ResponseCreateParams.builder().model(ServeFixture.MODEL).input("hi").previousResponseId("resp_1").build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("previous_response_id");
    }

    @Test void aFailureMidStreamIsAnErrorEvent() throws Exception {
        // a server whose requests time out after 1 ms: the stream has begun when the engine fails the request
        try (Server quick = new Server(ServeFixture.model(), false, null, ServeOptions.defaults(ServeFixture.MODEL).withPort(0)
                .withEngine(new Engine.Options(4, 8, 1)))) {
            HttpResponse<String> r = BadInputTest.HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(quick.baseUrl() + "/v1/responses"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"m6j-test\",\"input\":\"Once\",\"max_output_tokens\":60,\"stream\":true}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            List<JsonNode> events = new ArrayList<>();
            for (String line : r.body().split("\n")) if (line.startsWith("data: ")) events.add(RequestJson.MAPPER.readTree(line.substring(6)));
            JsonNode last = events.get(events.size() - 1);
            assertThat(events.get(0).get("type").asText()).isEqualTo("response.created");
            assertThat(last.get("type").asText()).as(r.body()).isEqualTo("error");
            assertThat(last.get("code").asText()).isEqualTo("request_timeout");
            assertThat(last.get("sequence_number").asInt()).isEqualTo(events.size() - 1);
            assertThat(last.at("/error/code").asText()).isEqualTo("request_timeout");
            OpenAIClient c = OpenAIOkHttpClient.builder().baseUrl(quick.baseUrl() + "/v1").apiKey("none").maxRetries(0).build();
            assertThatThrownBy(() -> {
                try (StreamResponse<ResponseStreamEvent> s = c.responses().createStreaming(ResponseCreateParams.builder().model(ServeFixture.MODEL)
                        .input("Once").maxOutputTokens(60).build())) {
                    s.stream().forEach(e -> { });
                }
            }).isInstanceOf(com.openai.errors.SseException.class).hasMessageContaining("did not finish");
        }
    }

    /** As DisconnectTest does for completions: a response whose client leaves is withdrawn unrun, counted 499 under its route. */
    @Test void aGoneClientsResponseIsDroppedUnrun() throws Exception {
        java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
        Thread holder = DisconnectTest.holdScheduler(server, hold);
        String gone499 = "m6j_requests_total\\{path=\"/v1/responses\",status=\"499\"\\}";
        try {
            double generated = DisconnectTest.metric(server, "m6j_generated_tokens_total"), gone = DisconnectTest.metric(server, gone499);
            double cancelled = DisconnectTest.metric(server, "m6j_cancelled_total");
            try (var c = DisconnectTest.send(server, "/v1/responses", "{\"model\":\"m6j-test\",\"input\":\"The\",\"max_output_tokens\":20}")) {
                assertThat(DisconnectTest.within(10_000, () -> DisconnectTest.metric(server, "m6j_queue_depth") == 1)).as("queued").isTrue();
            }
            assertThat(DisconnectTest.within(10_000, () -> DisconnectTest.metric(server, gone499) == gone + 1)).as("the handler noticed and gave up").isTrue();
            hold.countDown();
            assertThat(DisconnectTest.within(10_000, () -> DisconnectTest.metric(server, "m6j_queue_depth") == 0
                    && DisconnectTest.metric(server, "m6j_cancelled_total") == cancelled + 1)).isTrue();
            assertThat(DisconnectTest.metric(server, "m6j_generated_tokens_total")).as("no token generated for it").isEqualTo(generated);
        } finally {
            hold.countDown();
            holder.join();
        }
    }

    @Test void malformedInputIsA4xxAndTheServerGoesOn() throws Exception {
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[", 400, "invalid_json");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\"}", 400, "missing_required_parameter");
        BadInputTest.bad("/v1/responses", "{\"input\":\"hi\"}", 400, "missing_required_parameter");
        BadInputTest.bad("/v1/responses", "{\"model\":\"gpt-4\",\"input\":\"hi\"}", 404, "model_not_found");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":42}", 400, "invalid_type");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[]}", 400, "empty_array");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[\"hi\"]}", 400, "invalid_type");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[{\"role\":\"tool\",\"content\":\"x\"}]}", 400, "invalid_value");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[{\"role\":\"user\"}]}", 400, "missing_required_parameter");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"bogus\"}]}]}", 400, "invalid_value");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":7}]}]}", 400, "invalid_type");
        JsonNode img = BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"image_url\":\"data:image/png;base64,@@@\"}]}]}",
                400, "invalid_base64");
        assertThat(img.get("param").asText()).isEqualTo("input[0].content[0].image_url");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":\"hi\",\"max_output_tokens\":0}", 400, "invalid_value");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":\"hi\",\"temperature\":\"hot\"}", 400, "invalid_type");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":\"hi\",\"text\":{\"format\":{\"type\":\"yaml\"}}}", 400, "invalid_value");
        BadInputTest.bad("/v1/responses", "{\"model\":\"m6j-test\",\"input\":\"" + "word ".repeat(200) + "\"}", 400, "context_length_exceeded");
        HttpResponse<String> get = BadInputTest.HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.baseUrl() + "/v1/responses"))
                .header("Authorization", "Bearer " + ServeFixture.KEY).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(405);
    }
}
