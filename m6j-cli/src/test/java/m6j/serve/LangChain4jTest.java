package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.PartialToolCall;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.exception.AuthenticationException;
import dev.langchain4j.exception.ModelNotFoundException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.Response;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * LangChain4j's OpenAI module (langchain4j-open-ai, its JDK HTTP client), unchanged, against a running m6j server:
 * each model built as a user would, with a base URL, a key and a model name, everything else at the library's
 * defaults (retries, timeouts, stream_options, image detail). Answers are checked against what the same request gives
 * over plain HTTP, so a client that sent something else, or read the answer wrongly, fails.
 */
class LangChain4jTest {
    static final String ALIAS = "gpt-4o-mini";
    static String base;

    @BeforeAll static void start() throws Exception {
        base = ServeFixture.server().baseUrl() + "/v1";
    }

    private static OpenAiChatModel.OpenAiChatModelBuilder chat() {
        return OpenAiChatModel.builder().baseUrl(base).apiKey(ServeFixture.KEY).modelName(ALIAS);
    }

    /** The same chat request over plain HTTP: one user message with the given content, greedy, at most max tokens. */
    private static JsonNode direct(String content, int max) throws Exception {
        String body = "{\"model\":\"" + ALIAS + "\",\"temperature\":0,\"max_tokens\":" + max + ",\"messages\":[{\"role\":\"user\",\"content\":" + content + "}]}";
        HttpResponse<String> r = BadInputTest.post("/v1/chat/completions", body, ServeFixture.KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return RequestJson.MAPPER.readTree(r.body());
    }

    @Test void chatAtTheDefaults() {
        // no temperature, no token limit: what a user's first call sends; the server runs to EOS or to the context
        ChatModel m = chat().build();
        ChatResponse r = m.chat(UserMessage.from("The weather today"));
        // an answer that is EOS at once has no text: LangChain4j reads the empty content as null
        assertThat(r.aiMessage().text() == null).isEqualTo(r.tokenUsage().outputTokenCount() == 0);
        assertThat(r.finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
        assertThat(r.tokenUsage().inputTokenCount()).isPositive();
        assertThat(r.tokenUsage().totalTokenCount()).isEqualTo(r.tokenUsage().inputTokenCount() + r.tokenUsage().outputTokenCount());
        assertThat(r.tokenUsage().totalTokenCount()).isLessThanOrEqualTo(ServeFixture.CONFIG.maxTextLen());
        assertThat(r.metadata().modelName()).isEqualTo(ALIAS);
        assertThat(m.chat("Once upon a time")).isNotNull();     // the String -> String shortcut
    }

    @Test void greedyChatIsWhatTheServerAnswersOverHttp() throws Exception {
        ChatResponse r = chat().temperature(0.0).maxTokens(12).build().chat(UserMessage.from("Once upon a time"));
        JsonNode d = direct("\"Once upon a time\"", 12);
        assertThat(r.aiMessage().text()).isEqualTo(d.at("/choices/0/message/content").asText());
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(d.at("/usage/completion_tokens").asInt()).isBetween(1, 12);
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(d.at("/usage/prompt_tokens").asInt());
        assertThat(r.finishReason()).isEqualTo(d.at("/choices/0/finish_reason").asText().equals("stop") ? FinishReason.STOP : FinishReason.LENGTH);
    }

    @Test void streamingCollectsThePartsIntoTheSameAnswer() throws Exception {
        StreamingChatModel m = OpenAiStreamingChatModel.builder().baseUrl(base).apiKey(ServeFixture.KEY).modelName(ALIAS)
                .temperature(0.0).maxTokens(12).build();
        List<String> parts = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        m.chat("Once upon a time", new StreamingChatResponseHandler() {
            @Override public void onPartialResponse(String partial) { parts.add(partial); }
            @Override public void onCompleteResponse(ChatResponse complete) { done.complete(complete); }
            @Override public void onError(Throwable error) { done.completeExceptionally(error); }
        });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        JsonNode d = direct("\"Once upon a time\"", 12);
        assertThat(parts).isNotEmpty().doesNotContain("");
        assertThat(String.join("", parts)).isEqualTo(r.aiMessage().text()).isEqualTo(d.at("/choices/0/message/content").asText());
        assertThat(r.finishReason()).isEqualTo(d.at("/choices/0/finish_reason").asText().equals("stop") ? FinishReason.STOP : FinishReason.LENGTH);
        // LangChain4j asks for stream_options.include_usage: the usage chunk arrives and is read
        assertThat(r.tokenUsage()).isNotNull();
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(d.at("/usage/prompt_tokens").asInt());
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(d.at("/usage/completion_tokens").asInt());
        assertThat(r.metadata().id()).startsWith("chatcmpl-");
    }

    @Test void chatWithAnImageSendsTheImage() throws Exception {
        String b64 = Base64.getEncoder().encodeToString(Files.readAllBytes(ServeFixture.samplePng()));
        ChatModel m = chat().temperature(0.0).maxTokens(8).build();
        ChatResponse fromBase64 = m.chat(UserMessage.from(ImageContent.from(b64, "image/png"), TextContent.from("What is this?")));
        ChatResponse fromUrl = m.chat(UserMessage.from(ImageContent.from("data:image/png;base64," + b64), TextContent.from("What is this?")));
        JsonNode d = direct("[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64," + b64 + "\"}},{\"type\":\"text\",\"text\":\"What is this?\"}]", 8);
        assertThat(fromBase64.aiMessage().text()).isEqualTo(d.at("/choices/0/message/content").asText());
        assertThat(fromUrl.aiMessage().text()).isEqualTo(fromBase64.aiMessage().text());
        // the image's patches are part of the prompt: it arrived as an image, not as text
        assertThat(fromBase64.tokenUsage().inputTokenCount()).isEqualTo(d.at("/usage/prompt_tokens").asInt()).isGreaterThan(ServeFixture.CONFIG.patches());
    }

    @Test void embeddingsAreTheServersUnitVectors() throws Exception {
        EmbeddingModel m = OpenAiEmbeddingModel.builder().baseUrl(base).apiKey(ServeFixture.KEY).modelName(ServeFixture.MODEL).build();
        List<String> texts = List.of("a cat", "a red dress", "床前明月光", "The jury said");
        HttpResponse<String> raw = BadInputTest.post("/v1/embeddings", RequestJson.MAPPER.createObjectNode().put("model", ServeFixture.MODEL)
                .set("input", RequestJson.MAPPER.valueToTree(texts)).toString(), ServeFixture.KEY);
        assertThat(raw.statusCode()).as(raw.body()).isEqualTo(200);
        JsonNode data = RequestJson.MAPPER.readTree(raw.body()).get("data");
        int width = data.get(0).get("embedding").size();
        assertThat(m.dimension()).isEqualTo(width);

        Response<List<Embedding>> all = m.embedAll(texts.stream().map(TextSegment::from).toList());
        assertThat(all.content()).hasSize(texts.size());
        assertThat(all.tokenUsage().inputTokenCount()).isPositive();
        for (int i = 0; i < texts.size(); i++) {
            float[] v = all.content().get(i).vector();
            assertThat(v).hasSize(width);
            double norm = 0, diff = 0;
            for (int j = 0; j < width; j++) {
                norm += v[j] * v[j];
                diff = Math.max(diff, Math.abs(v[j] - data.get(i).get("embedding").get(j).asDouble()));
            }
            assertThat(norm).as("unit vector %d", i).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
            assertThat(diff).as("vector %d as /v1/embeddings gives it", i).isLessThan(1e-5);
        }
        // one text alone is the same vector as in the batch, and different texts are different vectors
        float[] one = m.embed("a red dress").content().vector(), cat = all.content().get(0).vector(), dress = all.content().get(1).vector();
        double same = 0, other = 0;
        for (int j = 0; j < width; j++) { same = Math.max(same, Math.abs(one[j] - dress[j])); other = Math.max(other, Math.abs(cat[j] - dress[j])); }
        assertThat(same).isLessThan(1e-4);
        assertThat(other).isGreaterThan(1e-3);
    }

    @Test void errorsArriveAsLangChain4jExceptions() {
        assertThatThrownBy(() -> OpenAiChatModel.builder().baseUrl(base).apiKey("nope").modelName(ALIAS).build().chat("hi"))
                .isInstanceOf(AuthenticationException.class);
        assertThatThrownBy(() -> OpenAiChatModel.builder().baseUrl(base).apiKey(ServeFixture.KEY).modelName("gpt-4").build().chat("hi"))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("gpt-4");
    }

    @Test void jsonModeAndJsonSchemaAnswersParseAndValidate() throws Exception {
        JsonObjectSchema person = JsonObjectSchema.builder().addStringProperty("name").addEnumProperty("mood", List.of("ok", "bad"))
                .required("name", "mood").build();
        ChatModel m = chat().temperature(1.5).maxTokens(60).strictJsonSchema(true)
                .supportedCapabilities(dev.langchain4j.model.chat.Capability.RESPONSE_FORMAT_JSON_SCHEMA).build();
        for (int seed = 0; seed < 4; seed++) {
            ChatResponse r = chat().temperature(1.5).maxTokens(60).seed(seed).strictJsonSchema(true)
                    .supportedCapabilities(dev.langchain4j.model.chat.Capability.RESPONSE_FORMAT_JSON_SCHEMA).build()
                    .chat(ChatRequest.builder().messages(UserMessage.from("JSON:")).responseFormat(ResponseFormat.builder().type(ResponseFormatType.JSON)
                            .jsonSchema(JsonSchema.builder().name("person").rootElement(person).build()).build()).build());
            JsonNode out = RequestJson.MAPPER.readTree(r.aiMessage().text());
            assertThat(out.get("name").isTextual()).as(out.toString()).isTrue();
            assertThat(out.get("mood").asText()).isIn("ok", "bad");
            assertThat(out.size()).isEqualTo(2);
        }
        ChatResponse o = m.chat(ChatRequest.builder().messages(UserMessage.from("JSON:")).responseFormat(ResponseFormat.JSON).build());
        assertThat(RequestJson.MAPPER.readTree(o.aiMessage().text()).isObject()).as(o.aiMessage().text()).isTrue();
    }

    @Test void toolCallsPlainAndStreamed() throws Exception {
        ToolSpecification weather = ToolSpecification.builder().name("weather").description("Weather in a city")
                .parameters(JsonObjectSchema.builder().addStringProperty("city").addEnumProperty("unit", List.of("c", "f")).required("city", "unit").build()).build();
        ChatRequest req = ChatRequest.builder().messages(UserMessage.from("Weather?")).toolSpecifications(weather).toolChoice(ToolChoice.REQUIRED).build();
        ChatResponse r = chat().temperature(1.5).maxTokens(60).build().chat(req);
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_EXECUTION);
        checkCall(r.aiMessage().toolExecutionRequests());
        OpenAiStreamingChatModel s = OpenAiStreamingChatModel.builder().baseUrl(base).apiKey(ServeFixture.KEY).modelName(ALIAS).temperature(1.5).maxTokens(60).build();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        List<String> partialArgs = Collections.synchronizedList(new ArrayList<>());
        s.chat(req, new StreamingChatResponseHandler() {
            @Override public void onPartialResponse(String partial) {}
            @Override public void onPartialToolCall(PartialToolCall call) { partialArgs.add(call.partialArguments()); }
            @Override public void onCompleteResponse(ChatResponse complete) { done.complete(complete); }
            @Override public void onError(Throwable error) { done.completeExceptionally(error); }
        });
        ChatResponse st = done.get(60, TimeUnit.SECONDS);
        assertThat(st.finishReason()).isEqualTo(FinishReason.TOOL_EXECUTION);
        checkCall(st.aiMessage().toolExecutionRequests());
        assertThat(partialArgs.size()).as("arguments arrived in pieces").isGreaterThan(1);
        assertThat(String.join("", partialArgs)).isEqualTo(st.aiMessage().toolExecutionRequests().get(0).arguments());
    }

    private static void checkCall(List<ToolExecutionRequest> calls) throws Exception {
        assertThat(calls).hasSize(1);
        ToolExecutionRequest t = calls.get(0);
        assertThat(t.id()).startsWith("call_");
        assertThat(t.name()).isEqualTo("weather");
        JsonNode args = RequestJson.MAPPER.readTree(t.arguments());
        assertThat(args.get("city").isTextual()).as(t.arguments()).isTrue();
        assertThat(args.get("unit").asText()).isIn("c", "f");
    }
}
