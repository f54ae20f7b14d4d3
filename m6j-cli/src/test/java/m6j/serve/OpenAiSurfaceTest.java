package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What OpenAI clients send with their defaults: no token limit on chat (the rest of the context, not 16), limits past
 * the context (clamped), their own default model names (served as aliases), and parameters this server does not
 * implement (refused by name, never silently ignored).
 */
class OpenAiSurfaceTest {
    @BeforeAll static void start() throws Exception { ServeFixture.server(); }

    private static JsonNode ok(String path, String body) throws Exception {
        HttpResponse<String> r = BadInputTest.post(path, body, ServeFixture.KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return RequestJson.MAPPER.readTree(r.body());
    }

    @Test void chatWithoutALimitRunsToTheContextAndLargerLimitsAreClamped() throws Exception {
        int ctx = ServeFixture.CONFIG.maxTextLen();
        String chat = "{\"model\":\"m6j-test\",\"temperature\":1.5,\"seed\":3,\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}]";
        JsonNode r = ok("/v1/chat/completions", chat + "}");
        JsonNode u = r.get("usage");
        String finish = r.at("/choices/0/finish_reason").asText();
        assertThat(finish.equals("stop") || u.get("prompt_tokens").asInt() + u.get("completion_tokens").asInt() >= ctx - 1)
                .as("no limit: stops at EOS or at the context, %s", r).isTrue();
        assertThat(u.get("completion_tokens").asInt()).as("a chat without max_tokens is not cut at 16 tokens: %s", r).isNotEqualTo(16);
        JsonNode big = ok("/v1/chat/completions", chat + ",\"max_tokens\":1000000}");
        assertThat(big.at("/usage/completion_tokens").asInt()).isLessThanOrEqualTo(ctx);
        JsonNode completion = ok("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"temperature\":1.5,\"seed\":3}");
        assertThat(completion.at("/usage/completion_tokens").asInt()).as("completions keep OpenAI's default of 16").isLessThanOrEqualTo(16);
    }

    @Test void aClientsDefaultModelNameIsServedAsAnAlias() throws Exception {
        ok("/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        HttpResponse<String> models = BadInputTest.HTTP.send(HttpRequest.newBuilder(URI.create(ServeFixture.server().baseUrl() + "/v1/models"))
                .header("Authorization", "Bearer " + ServeFixture.KEY).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(models.body()).contains("\"gpt-4o-mini\"").contains("\"m6j-test\"");
        BadInputTest.bad("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 404, "model_not_found");
    }

    @Test void unimplementedParametersAreRefusedByName() throws Exception {
        String msgs = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2";
        for (String extra : new String[]{"\"frequency_penalty\":0.5", "\"logit_bias\":{\"5\":10}",
                "\"store\":true", "\"audio\":{\"voice\":\"alloy\"}", "\"no_such_parameter\":1"}) {
            JsonNode e = BadInputTest.bad("/v1/chat/completions", "{\"model\":\"m6j-test\"," + msgs + "," + extra + "}", 400, "unsupported_parameter");
            assertThat(extra).contains(e.get("param").asText());
        }
        // their no-op values pass
        ok("/v1/chat/completions", "{\"model\":\"m6j-test\"," + msgs + ",\"response_format\":{\"type\":\"text\"},\"tools\":[],\"logprobs\":false,"
                + "\"frequency_penalty\":0,\"store\":false,\"user\":\"u1\",\"parallel_tool_calls\":true}");
        JsonNode e = BadInputTest.bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"echo\":true}", 400, "unsupported_parameter");
        assertThat(e.get("param").asText()).isEqualTo("echo");
        ok("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"max_tokens\":2,\"logprobs\":0,\"echo\":false,\"best_of\":1}");
    }

    @Test void webpImagesAreRead() throws Exception {
        String webp = "data:image/webp;base64,UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==";     // 1x1 lossless WebP
        JsonNode e = ok("/v1/embeddings", "{\"model\":\"m6j-test\",\"input\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + webp + "\"}}]}");
        assertThat(e.at("/data/0/embedding").size()).isPositive();
        JsonNode c = ok("/v1/chat/completions", "{\"model\":\"m6j-test\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":"
                + "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + webp + "\"}}]}]}");
        assertThat(c.at("/usage/prompt_tokens").asInt()).as("the image's patches are in the prompt").isGreaterThan(ServeFixture.CONFIG.patches());
    }
}
