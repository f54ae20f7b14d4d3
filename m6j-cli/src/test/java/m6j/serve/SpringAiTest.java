package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.ai.converter.BeanOutputConverter;
import org.springframework.ai.document.MetadataMode;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.ai.openai.OpenAiEmbeddingModel;
import org.springframework.ai.openai.OpenAiEmbeddingOptions;
import org.springframework.ai.openai.api.OpenAiApi;
import org.springframework.ai.openai.api.ResponseFormat;
import org.springframework.ai.support.ToolCallbacks;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.function.FunctionToolCallback;
import org.springframework.util.MimeTypeUtils;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Spring AI's OpenAI module (spring-ai-openai 1.1.x: OpenAiApi on Spring's RestClient and WebClient), without a Spring
 * context, against a running m6j server; answers are compared with what the same request gives over plain HTTP.
 * JSON mode and tool calls run at the defaults a user would leave (no temperature, no token limit): the server's
 * grammar makes the answers valid, checked here with networknt's validator against the schemas Spring AI made.
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

    static Schema schema(String json) throws Exception {
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(RequestJson.MAPPER.readTree(json));
    }

    /** What a structured answer is read into (BeanOutputConverter derives the schema: an enum and a string, both required). */
    public enum Colour { RED, GREEN, BLUE }

    public record Pick(Colour colour, String name) {}

    @Test void jsonObjectModeParses() throws Exception {
        OpenAiChatOptions o = OpenAiChatOptions.builder().model(ALIAS).responseFormat(ResponseFormat.builder().type(ResponseFormat.Type.JSON_OBJECT).build()).build();
        ChatResponse r = chat().call(new Prompt("A cat as JSON:", o));
        String text = r.getResult().getOutput().getText();
        assertThat(RequestJson.MAPPER.readTree(text).isObject()).as(text).isTrue();
        assertThat(r.getResult().getMetadata().getFinishReason()).isEqualToIgnoringCase("stop");
    }

    @Test void jsonSchemaModeValidatesAndConverts() throws Exception {
        BeanOutputConverter<Pick> conv = new BeanOutputConverter<>(Pick.class);
        OpenAiChatOptions o = OpenAiChatOptions.builder().model(ALIAS)
                .responseFormat(ResponseFormat.builder().type(ResponseFormat.Type.JSON_SCHEMA).jsonSchema(conv.getJsonSchema()).build()).build();
        ChatResponse r = chat().call(new Prompt("Pick a colour:", o));
        String text = r.getResult().getOutput().getText();
        assertThat(schema(conv.getJsonSchema()).validate(RequestJson.MAPPER.readTree(text))).as(conv.getJsonSchema() + " " + text).isEmpty();
        Pick p = conv.convert(text);
        assertThat(p.colour()).as(text).isNotNull();
        assertThat(p.name()).as(text).isNotNull();
    }

    /** A @Tool a Spring application would register; it answers the user directly (no second model turn). */
    public static final class WeatherTools {
        final List<String> cities = new CopyOnWriteArrayList<>();

        @Tool(description = "Weather in a city", returnDirect = true)
        public String weather(String city) {
            cities.add(city);
            return "sunny in " + city;
        }
    }

    @Test void toolMethodIsCalledWithArgumentsItsSchemaAccepts() throws Exception {
        WeatherTools w = new WeatherTools();
        ToolCallback tool = ToolCallbacks.from(w)[0];
        List<String> inputs = new CopyOnWriteArrayList<>();
        ToolCallback seen = new ToolCallback() {                   // the method's own callback, its input kept
            @Override public org.springframework.ai.tool.definition.ToolDefinition getToolDefinition() { return tool.getToolDefinition(); }
            @Override public org.springframework.ai.tool.metadata.ToolMetadata getToolMetadata() { return tool.getToolMetadata(); }
            @Override public String call(String input) { inputs.add(input); return tool.call(input); }
        };
        OpenAiChatOptions o = OpenAiChatOptions.builder().model(ALIAS).toolCallbacks(seen).toolChoice("required").build();
        ChatResponse r = chat().call(new Prompt("Weather in Paris?", o));
        assertThat(inputs).hasSize(1);
        assertThat(w.cities).hasSize(1);
        String schema = tool.getToolDefinition().inputSchema();
        JsonNode args = RequestJson.MAPPER.readTree(inputs.get(0));
        assertThat(schema(schema).validate(args)).as(schema + " " + args).isEmpty();
        // the one parameter (named arg0 when compiled without -parameters) is what the method was given
        assertThat(args.size()).isEqualTo(1);
        assertThat(args.elements().next().asText()).isEqualTo(w.cities.get(0));
        assertThat(r.getResult().getOutput().getText()).contains("sunny in ");
    }

    @Test void toolCallReturnedWhenTheApplicationRunsTools() throws Exception {
        List<Pick> invoked = new CopyOnWriteArrayList<>();
        ToolCallback pick = FunctionToolCallback.builder("pick", (Pick p) -> { invoked.add(p); return "ok"; })
                .description("Pick a colour").inputType(Pick.class).build();
        OpenAiChatOptions o = OpenAiChatOptions.builder().model(ALIAS).toolCallbacks(pick).toolChoice("required")
                .internalToolExecutionEnabled(false).build();
        ChatResponse r = chat().call(new Prompt("Pick a colour.", o));
        assertThat(r.hasToolCalls()).isTrue();
        List<AssistantMessage.ToolCall> calls = r.getResult().getOutput().getToolCalls();
        assertThat(calls).hasSize(1);
        assertThat(calls.get(0).name()).isEqualTo("pick");
        assertThat(calls.get(0).id()).startsWith("call_");
        String args = calls.get(0).arguments();
        assertThat(schema(pick.getToolDefinition().inputSchema()).validate(RequestJson.MAPPER.readTree(args)))
                .as(pick.getToolDefinition().inputSchema() + " " + args).isEmpty();
        assertThat(RequestJson.MAPPER.readValue(args, Pick.class).colour()).isNotNull();
        assertThat(invoked).isEmpty();
        assertThat(r.getResult().getMetadata().getFinishReason()).isEqualToIgnoringCase("tool_calls");
    }
}
