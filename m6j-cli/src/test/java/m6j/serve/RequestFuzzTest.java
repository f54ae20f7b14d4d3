package m6j.serve;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's request handling under hostile input: any body parses into an object or is a 4xx ApiError (nesting
 * and token count refused while parsing); any image part (data: URL, bare base64, other schemes) decodes to the
 * model's size or is a 4xx ApiError; and any request built from the API's own vocabulary of keys, values, images and
 * nesting, sent over real HTTP to the real server (ServeFixture: trained MoE model, image generator, index, key),
 * gets a 2xx or a 4xx with an OpenAI-shaped JSON error, never a 5xx, and the server keeps answering. Seeds in
 * RequestFuzzTestInputs/ run in every test run; JAZZER_FUZZ=1 fuzzes (docs/BENCHMARKS.md, "Fuzzing").
 */
class RequestFuzzTest {
    static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final String[] ROUTES = {"/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings",
            "/v1/images/generations", "/v1/search", "/v1/classify", "/v1/models", "/v1/models/m6j-test", "/health"};
    /** The keys the handlers read (grep of RequestJson calls), and a few they do not. */
    static final String[] KEYS = {"model", "messages", "role", "content", "type", "text", "image_url", "url", "input",
            "prompt", "max_tokens", "max_completion_tokens", "max_output_tokens", "temperature", "top_p", "top_k", "n",
            "stop", "stream", "stream_options", "seed", "response_format", "json_schema", "schema", "tools", "tool_choice",
            "function", "name", "parameters", "logprobs", "top_logprobs", "logit_bias", "instructions", "size", "query",
            "k", "labels", "image", "encoding_format", "dimensions", "user", "echo", "suffix", "best_of", "format",
            "modalities", "store", "metadata", "truncation", "parallel_tool_calls", "tool_calls", "detail", "input_image"};
    static final String[] WORDS = {"m6j-test", "gpt-4o-mini", "user", "system", "assistant", "tool", "developer", "text",
            "image_url", "input_text", "input_image", "json_object", "json_schema", "auto", "required", "none", "object",
            "string", "integer", "array", "base64", "float", "32x32", "256x256", "a red apple", "一个苹果", "", "\u0000",
            "data:image/png;base64,", "http://127.0.0.1/x.png", "file:///etc/passwd", "../../etc/passwd"};
    static String pngBase64;
    static HttpClient http;

    @BeforeAll static void start() throws Exception {
        ServeFixture.server();
        pngBase64 = Base64.getEncoder().encodeToString(Files.readAllBytes(ServeFixture.samplePng()));
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @FuzzTest(maxDuration = "60s")
    void bodiesParseOrAre4xx(byte[] body) {
        try {
            RequestJson.Parsed p = RequestJson.parseObject(body);
            assertThat(p.json().isObject()).isTrue();
            assertThat(p.tokens()).isBetween(2, RequestJson.MAX_TOKENS);
        } catch (ApiError e) {
            assertThat(e.status).isBetween(400, 499);
            assertThat(e.getMessage()).isNotBlank();
        }
    }

    @FuzzTest(maxDuration = "60s")
    void imagePartsDecodeOrAre4xx(FuzzedDataProvider in) {
        String url = switch (in.consumeInt(0, 3)) {
            case 0 -> "data:image/png;base64," + Base64.getEncoder().encodeToString(in.consumeRemainingAsBytes());
            case 1 -> Base64.getMimeEncoder().encodeToString(in.consumeRemainingAsBytes());
            default -> in.consumeRemainingAsString();
        };
        try {
            assertThat(ImageInput.fromUrl(url, 32, "image_url", ImageFetch.OFF)).hasSize(32 * 32 * 3);
        } catch (ApiError e) {
            assertThat(e.status).isBetween(400, 499);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void requestsOverHttpGet2xxOr4xx(FuzzedDataProvider in) throws Exception {
        String route = in.pickValue(ROUTES);
        boolean raw = in.consumeInt(0, 7) == 0, key = in.consumeInt(0, 15) != 0;
        byte[] body = raw ? null : request(in).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (raw) body = in.consumeRemainingAsBytes();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(ServeFixture.server().baseUrl() + route))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (key) b.header("Authorization", "Bearer " + ServeFixture.KEY);
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("%s %s -> %s", route, new String(body, java.nio.charset.StandardCharsets.UTF_8), r.body())
                .isBetween(200, 499);
        if (r.statusCode() >= 400) {
            JsonNode e = RequestJson.MAPPER.readTree(r.body()).path("error");
            assertThat(e.path("message").asText()).as(r.body()).isNotBlank();
            assertThat(e.path("type").asText()).as(r.body()).isNotBlank();
        }
    }

    /** A request object: mostly the API's keys, values of every JSON kind, messages with text and image parts. */
    static ObjectNode request(FuzzedDataProvider in) {
        ObjectNode o = F.objectNode();
        if (in.consumeBoolean()) o.put("model", in.consumeBoolean() ? ServeFixture.MODEL : in.pickValue(WORDS));
        if (in.consumeBoolean()) {
            ArrayNode m = o.putArray(in.consumeBoolean() ? "messages" : "input");
            for (int i = 0, n = in.consumeInt(0, 4); i < n; i++) m.add(message(in));
        }
        for (int i = 0, n = in.consumeInt(0, 6); i < n; i++) o.set(key(in), value(in, 0));
        return o;
    }

    static ObjectNode message(FuzzedDataProvider in) {
        ObjectNode m = F.objectNode().put("role", in.pickValue(new String[]{"user", "system", "assistant", "developer", "tool", "x"}));
        if (in.consumeBoolean()) {
            m.put("content", in.consumeString(64));
        } else {
            ArrayNode parts = m.putArray("content");
            for (int i = 0, n = in.consumeInt(0, 3); i < n; i++) {
                if (in.consumeBoolean()) {
                    parts.addObject().put("type", in.consumeBoolean() ? "text" : "input_text").put("text", in.consumeString(48));
                } else {
                    ObjectNode p = parts.addObject().put("type", in.consumeBoolean() ? "image_url" : "input_image");
                    String url = image(in);
                    if (in.consumeBoolean()) p.putObject("image_url").put("url", url); else p.put("image_url", url);
                }
            }
        }
        return m;
    }

    static String image(FuzzedDataProvider in) {
        return switch (in.consumeInt(0, 3)) {
            case 0 -> "data:image/png;base64," + pngBase64;
            case 1 -> "data:image/png;base64," + Base64.getEncoder().encodeToString(in.consumeBytes(in.consumeInt(0, 256)));
            case 2 -> in.pickValue(WORDS);
            default -> in.consumeString(32);
        };
    }

    static String key(FuzzedDataProvider in) { return in.consumeInt(0, 7) == 0 ? in.consumeString(12) : in.pickValue(KEYS); }

    static JsonNode value(FuzzedDataProvider in, int depth) {
        int kind = in.consumeInt(0, depth >= 3 ? 6 : 9);
        return switch (kind) {
            case 0 -> F.nullNode();
            case 1 -> F.booleanNode(in.consumeBoolean());
            case 2 -> F.numberNode(in.pickValue(new int[]{0, 1, -1, 2, 4, 8, 16, 64, 100, 1024, Integer.MAX_VALUE, Integer.MIN_VALUE}));
            case 3 -> F.numberNode(in.consumeInt());
            case 4 -> F.numberNode(in.pickValue(new double[]{0.0, 0.5, 1.0, 2.0, -0.5, 1e308, -1e-308, 3.4e38}));
            case 5 -> F.textNode(in.pickValue(WORDS));
            case 6 -> F.textNode(in.consumeBoolean() ? in.consumeString(32) : image(in));
            case 7 -> message(in);
            case 8 -> {
                ArrayNode a = F.arrayNode();
                for (int i = 0, n = in.consumeInt(0, 4); i < n; i++) a.add(value(in, depth + 1));
                yield a;
            }
            default -> {
                ObjectNode o = F.objectNode();
                for (int i = 0, n = in.consumeInt(0, 4); i < n; i++) o.set(key(in), value(in, depth + 1));
                yield o;
            }
        };
    }
}
