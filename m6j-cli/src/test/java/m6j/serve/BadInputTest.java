package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/** Each bad request gets the right 4xx with an OpenAI-style error, and the server still answers afterwards. */
class BadInputTest {
    static Server server;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll static void start() throws Exception { server = ServeFixture.server(); }

    static HttpResponse<String> post(String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(ServeFixture.server().baseUrl() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) b.header("Authorization", "Bearer " + key);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Asserts status and error code; returns the error object. */
    static JsonNode bad(String path, String body, int status, String code) throws Exception {
        return bad(path, body, ServeFixture.KEY, status, code);
    }

    static JsonNode bad(String path, String body, String key, int status, String code) throws Exception {
        HttpResponse<String> r = post(path, body, key);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode e = RequestJson.MAPPER.readTree(r.body()).get("error");
        assertThat(e).as(r.body()).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.get("type").asText()).isNotBlank();
        assertThat(e.get("code").asText()).isEqualTo(code);
        return e;
    }

    @AfterEach void serverStillAnswers() throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"max_tokens\":2}", ServeFixture.KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        HttpResponse<String> h = HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(h.statusCode()).isEqualTo(200);
    }

    @Test void malformedJson() throws Exception {
        bad("/v1/chat/completions", "{\"model\": \"m6j-test\", \"messages\": [", 400, "invalid_json");
        bad("/v1/completions", "[1, 2]", 400, "invalid_json");
        bad("/v1/embeddings", "", 400, "invalid_json");
    }

    @Test void wrongTypes() throws Exception {
        assertThat(bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":5}", 400, "invalid_type").get("param").asText()).isEqualTo("prompt");
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"x\",\"max_tokens\":\"ten\"}", 400, "invalid_type");
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"x\",\"stream\":\"yes\"}", 400, "invalid_type");
        bad("/v1/chat/completions", "{\"model\":\"m6j-test\",\"messages\":\"hi\"}", 400, "invalid_type");
        bad("/v1/chat/completions", "{\"model\":\"m6j-test\",\"messages\":[{\"role\":\"user\",\"content\":7}]}", 400, "invalid_type");
        bad("/v1/embeddings", "{\"model\":\"m6j-test\",\"input\":{\"a\":1}}", 400, "invalid_type");
        bad("/v1/completions", "{\"model\":5,\"prompt\":\"x\"}", 400, "invalid_type");
    }

    @Test void missingFields() throws Exception {
        assertThat(bad("/v1/completions", "{\"model\":\"m6j-test\"}", 400, "missing_required_parameter").get("param").asText()).isEqualTo("prompt");
        bad("/v1/completions", "{\"prompt\":\"x\"}", 400, "missing_required_parameter");
        bad("/v1/chat/completions", "{\"model\":\"m6j-test\"}", 400, "missing_required_parameter");
        bad("/v1/chat/completions", "{\"model\":\"m6j-test\",\"messages\":[{\"content\":\"hi\"}]}", 400, "missing_required_parameter");
        bad("/v1/embeddings", "{\"model\":\"m6j-test\"}", 400, "missing_required_parameter");
        bad("/v1/images/generations", "{\"n\":1}", 400, "missing_required_parameter");
        bad("/v1/search", "{\"k\":3}", 400, "missing_required_parameter");
    }

    @Test void unknownModel() throws Exception {
        bad("/v1/completions", "{\"model\":\"gpt-4o\",\"prompt\":\"x\"}", 404, "model_not_found");
        bad("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 404, "model_not_found");
        bad("/v1/embeddings", "{\"model\":\"gpt-4o\",\"input\":\"x\"}", 404, "model_not_found");
    }

    @Test void bodyOverTheLimit() throws Exception {
        String big = "{\"model\":\"m6j-test\",\"prompt\":\"" + "a".repeat(2 << 20) + "\"}";
        bad("/v1/completions", big, 413, "request_too_large");
    }

    @Test void promptOverTheContext() throws Exception {
        String longPrompt = "word ".repeat(ServeFixture.CONFIG.maxTextLen() * 2);
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"" + longPrompt + "\"}", 400, "context_length_exceeded");
        bad("/v1/chat/completions", "{\"model\":\"m6j-test\",\"messages\":[{\"role\":\"user\",\"content\":\"" + longPrompt + "\"}]}", 400, "context_length_exceeded");
        bad("/v1/embeddings", "{\"model\":\"m6j-test\",\"input\":\"" + longPrompt + "\"}", 400, "context_length_exceeded");
    }

    static String imageChat(String url) {
        return "{\"model\":\"m6j-test\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + url + "\"}}]}]}";
    }

    @Test void invalidBase64AndNonImageBytes() throws Exception {
        bad("/v1/chat/completions", imageChat("data:image/png;base64,@@@not-base64@@@"), 400, "invalid_base64");
        String text = Base64.getEncoder().encodeToString("just some text, not a picture".getBytes());
        bad("/v1/chat/completions", imageChat("data:image/png;base64," + text), 400, "invalid_image");
        byte[] png = Files.readAllBytes(ServeFixture.samplePng());
        String truncated = Base64.getEncoder().encodeToString(Arrays.copyOf(png, png.length / 3));
        bad("/v1/chat/completions", imageChat("data:image/png;base64," + truncated), 400, "invalid_image");
        bad("/v1/chat/completions", imageChat("https://example.com/cat.png"), 400, "invalid_image_url");
        bad("/v1/embeddings", "{\"model\":\"m6j-test\",\"input\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64," + text + "\"}}]}", 400, "invalid_image");
        bad("/v1/search", "{\"image\":\"data:image/png;base64,%%%\"}", 400, "invalid_base64");
    }

    @Test void nAndMaxTokensOutOfRange() throws Exception {
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"x\",\"n\":0}", 400, "invalid_value");
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"x\",\"n\":1000}", 400, "invalid_value");
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"x\",\"max_tokens\":0}", 400, "invalid_value");
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"x\",\"max_tokens\":-3}", 400, "invalid_value");
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"x\",\"temperature\":9}", 400, "invalid_value");
        bad("/v1/images/generations", "{\"prompt\":\"a dress\",\"n\":50}", 400, "invalid_value");
        bad("/v1/search", "{\"query\":\"a cat\",\"k\":0}", 400, "invalid_value");
    }

    @Test void wrongOrMissingApiKey() throws Exception {
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"x\"}", "wrong", 401, "invalid_api_key");
        bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"x\"}", null, 401, "invalid_api_key");
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(401);
    }

    @Test void unknownPathAndWrongMethod() throws Exception {
        bad("/v1/nothing", "{}", 404, "not_found");
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/completions"))
                .header("Authorization", "Bearer " + ServeFixture.KEY).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(405);
    }

    @Test void imagesWithoutAGeneratorSayWhy() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(ServeFixture.plain().baseUrl() + "/v1/images/generations"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"a red dress\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(RequestJson.MAPPER.readTree(r.body()).get("error").get("code").asText()).isEqualTo("image_generation_unavailable");
        bad("/v1/images/generations", "{\"prompt\":\"a dress\",\"size\":\"4096x4096\"}", 400, "invalid_value");
        bad("/v1/images/generations", "{\"prompt\":\"a dress\",\"size\":\"big\"}", 400, "invalid_value");
        bad("/v1/images/generations", "{\"prompt\":\"a dress\",\"response_format\":\"png\"}", 400, "invalid_value");
    }

    @Test void clientThatDisconnectsMidStreamLeavesTheServerHealthy() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                String body = "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"max_tokens\":30,\"stream\":true}";
                s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ServeFixture.KEY
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes());
                s.getOutputStream().flush();
                assertThat(new String(s.getInputStream().readNBytes(12))).startsWith("HTTP/1.1 200");
            }   // closed after the first bytes
        }
    }
}
