package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.ai.document.MetadataMode;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.ai.openai.OpenAiEmbeddingModel;
import org.springframework.ai.openai.OpenAiEmbeddingOptions;
import org.springframework.ai.openai.api.OpenAiApi;
import org.springframework.util.MimeTypeUtils;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Spring AI's OpenAI module (spring-ai-openai 1.1.x: OpenAiApi on Spring's RestClient and WebClient), without a Spring
 * context, against a running m6j server; answers are compared with what the same request gives over plain HTTP.
 */
class SpringAiTest {
    static final String ALIAS = "gpt-4o-mini";
    static OpenAiApi api;

    @BeforeAll static void start() throws Exception {
        api = OpenAiApi.builder().baseUrl(ServeFixture.server().baseUrl()).apiKey(ServeFixture.KEY).build();
    }

    private static OpenAiChatModel chat() {
        return OpenAiChatModel.builder().openAiApi(api).defaultOptions(OpenAiChatOptions.builder().model(ALIAS).build()).build();
    }

    private static JsonNode direct(String content, int max) throws Exception {
        String body = "{\"model\":\"" + ALIAS + "\",\"temperature\":0,\"max_tokens\":" + max + ",\"messages\":[{\"role\":\"user\",\"content\":" + content + "}]}";
        HttpResponse<String> r = BadInputTest.post("/v1/chat/completions", body, ServeFixture.KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return RequestJson.MAPPER.readTree(r.body());
    }

    private static OpenAiChatOptions greedy(int max) { return OpenAiChatOptions.builder().model(ALIAS).temperature(0.0).maxTokens(max).build(); }

    @Test void chatAtTheDefaultsAndGreedy() throws Exception {
        ChatResponse d = chat().call(new Prompt("The weather today"));
        assertThat(d.getResult().getOutput().getText()).isNotNull();
        assertThat(d.getMetadata().getUsage().getPromptTokens()).isPositive();
        ChatResponse r = chat().call(new Prompt("Once upon a time", greedy(12)));
        JsonNode h = direct("\"Once upon a time\"", 12);
        assertThat(r.getResult().getOutput().getText()).isEqualTo(h.at("/choices/0/message/content").asText());
        assertThat(r.getMetadata().getUsage().getCompletionTokens()).isEqualTo(h.at("/usage/completion_tokens").asInt());
        assertThat(r.getResult().getMetadata().getFinishReason()).isEqualToIgnoringCase(h.at("/choices/0/finish_reason").asText());
    }

    @Test void streamingJoinsToTheSameAnswer() throws Exception {
        List<ChatResponse> parts = chat().stream(new Prompt("Once upon a time", greedy(12))).collectList().block();
        StringBuilder text = new StringBuilder();
        for (ChatResponse p : parts) if (p.getResult() != null && p.getResult().getOutput().getText() != null) text.append(p.getResult().getOutput().getText());
        assertThat(parts).hasSizeGreaterThan(1);
        assertThat(text.toString()).isEqualTo(direct("\"Once upon a time\"", 12).at("/choices/0/message/content").asText());
    }

    @Test void chatWithAnImage() throws Exception {
        byte[] png = Files.readAllBytes(ServeFixture.samplePng());
        UserMessage m = UserMessage.builder().text("What is this?").media(Media.builder().mimeType(MimeTypeUtils.IMAGE_PNG).data(png).build()).build();
        ChatResponse r = chat().call(new Prompt(List.of(m), greedy(8)));
        JsonNode h = direct("[{\"type\":\"text\",\"text\":\"What is this?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(png) + "\"}}]", 8);
        assertThat(r.getResult().getOutput().getText()).isEqualTo(h.at("/choices/0/message/content").asText());
        assertThat(r.getMetadata().getUsage().getPromptTokens()).isEqualTo(h.at("/usage/prompt_tokens").asInt()).isGreaterThan(ServeFixture.CONFIG.patches());
    }

    @Test void embeddingsAreTheServersUnitVectors() throws Exception {
        OpenAiEmbeddingModel m = new OpenAiEmbeddingModel(api, MetadataMode.EMBED, OpenAiEmbeddingOptions.builder().model(ServeFixture.MODEL).build());
        List<String> texts = List.of("a cat", "a red dress", "床前明月光");
        HttpResponse<String> raw = BadInputTest.post("/v1/embeddings", RequestJson.MAPPER.createObjectNode().put("model", ServeFixture.MODEL)
                .set("input", RequestJson.MAPPER.valueToTree(texts)).toString(), ServeFixture.KEY);
        JsonNode data = RequestJson.MAPPER.readTree(raw.body()).get("data");
        List<float[]> all = m.embed(texts);
        assertThat(m.dimensions()).isEqualTo(data.get(0).get("embedding").size());
        for (int i = 0; i < texts.size(); i++) {
            double norm = 0, diff = 0;
            for (int j = 0; j < all.get(i).length; j++) {
                norm += all.get(i)[j] * all.get(i)[j];
                diff = Math.max(diff, Math.abs(all.get(i)[j] - data.get(i).get("embedding").get(j).asDouble()));
            }
            assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
            assertThat(diff).isLessThan(1e-5);
        }
    }
}
