package m6j.serve;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.images.ImageGenerateParams;
import com.openai.models.images.ImagesResponse;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The official OpenAI Java SDK, unchanged, against a running m6j server. */
class OpenAiSdkTest {
    static Server server;
    static OpenAIClient client;

    @BeforeAll static void start() throws Exception {
        server = ServeFixture.server();
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey(ServeFixture.KEY).maxRetries(0).build();
    }

    @Test void listsTheModel() {
        assertThat(client.models().list().data()).extracting(m -> m.id()).containsExactly(ServeFixture.MODEL, "gpt-4o-mini");   // the fixture's alias
    }

    @Test void chat() {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(ServeFixture.MODEL).addUserMessage("The weather today").maxCompletionTokens(8).temperature(0.0).build());
        assertThat(c.choices()).hasSize(1);
        assertThat(c.choices().get(0).message().content()).isPresent();
        assertThat(c.choices().get(0).finishReason().asString()).isIn("stop", "length");
        assertThat(c.usage().orElseThrow().completionTokens()).isBetween(0L, 8L);
    }

    @Test void chatStreamsTheSameTextAsAPlainCall() {
        ChatCompletionCreateParams p = ChatCompletionCreateParams.builder()
                .model(ServeFixture.MODEL).addUserMessage("Once upon a time").maxCompletionTokens(10).temperature(0.0).build();
        String plain = client.chat().completions().create(p).choices().get(0).message().content().orElse("");
        StringBuilder streamed = new StringBuilder();
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(p)) {
            for (ChatCompletionChunk ch : (Iterable<ChatCompletionChunk>) s.stream()::iterator) {
                for (ChatCompletionChunk.Choice c : ch.choices()) {
                    c.delta().content().ifPresent(streamed::append);
                    if (c.finishReason().isPresent()) finish = c.finishReason().get().asString();
                }
            }
        }
        assertThat(streamed.toString()).isEqualTo(plain);
        assertThat(finish).isIn("stop", "length");
    }

    @Test void chatWithAnImageCaptionsIt() throws Exception {
        String url = "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(ServeFixture.samplePng()));
        ChatCompletionContentPart image = ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
                .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(url).build()).build());
        ChatCompletionContentPart text = ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("What is this?").build());
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model(ServeFixture.MODEL)
                .addUserMessageOfArrayOfContentParts(List.of(image, text)).maxCompletionTokens(8).temperature(0.0).build());
        assertThat(c.choices().get(0).message().content()).isPresent();
        // the image's patches count as prompt tokens
        assertThat(c.usage().orElseThrow().promptTokens()).isGreaterThan(ServeFixture.CONFIG.patches());
    }

    @Test void completionsWithTwoChoices() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(ServeFixture.MODEL)
                .prompt("The jury said").maxTokens(6).n(2).seed(3).build());
        assertThat(c.choices()).hasSize(2);
        assertThat(c.choices()).extracting(ch -> ch.index()).containsExactlyInAnyOrder(0L, 1L);
    }

    @Test void embeddingsAreUnitVectorsOfTheModelWidth() {
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(ServeFixture.MODEL)
                .inputOfArrayOfStrings(List.of("a cat", "a red dress")).build());
        assertThat(r.data()).hasSize(2);
        List<Float> e = r.data().get(0).embedding();
        assertThat(e).hasSize(ServeFixture.CONFIG.dModel());
        double n = 0;
        for (float f : e) n += f * f;
        assertThat(n).isCloseTo(1.0, Offset.offset(1e-4));
    }

    @Test void imagesAsBase64Png() throws Exception {
        ImagesResponse r = client.images().generate(ImageGenerateParams.builder().model(ServeFixture.MODEL).prompt("a red dress")
                .n(2).responseFormat(ImageGenerateParams.ResponseFormat.B64_JSON).size(ImageGenerateParams.Size.of("32x32")).build());
        assertThat(r.data().orElseThrow()).hasSize(2);
        byte[] png = Base64.getDecoder().decode(r.data().orElseThrow().get(0).b64Json().orElseThrow());
        assertThat(ImageIO.read(new ByteArrayInputStream(png)).getWidth()).isEqualTo(32);
    }

    @Test void imagesAsDataUrlsAndAtOtherSizes() throws Exception {
        ImagesResponse r = client.images().generate(ImageGenerateParams.builder().model(ServeFixture.MODEL).prompt("a red dress")
                .responseFormat(ImageGenerateParams.ResponseFormat.URL).size(ImageGenerateParams.Size.of("64x48")).build());
        String url = r.data().orElseThrow().get(0).url().orElseThrow();
        assertThat(url).startsWith("data:image/png;base64,");
        var img = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(url.substring(url.indexOf(',') + 1))));
        assertThat(img.getWidth()).isEqualTo(64);
        assertThat(img.getHeight()).isEqualTo(48);
    }

    @Test void errorsArriveAsTheSdkExceptions() {
        OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey("nope").maxRetries(0).build();
        assertThatThrownBy(() -> wrong.models().list()).isInstanceOf(UnauthorizedException.class);
        assertThatThrownBy(() -> client.completions().create(CompletionCreateParams.builder().model("gpt-4").prompt("x").build()))
                .isInstanceOf(NotFoundException.class).hasMessageContaining("gpt-4");
    }

    /** What the SDK's structured outputs turn into a strict JSON schema (response_format) or a function tool. */
    public static class Pet {
        public String name;
        public long age;
        public boolean friendly;
    }

    public static class GetWeather {
        public String city;
    }

    @Test void structuredOutputsAndToolsFromJavaClasses() {
        for (int seed = 0; seed < 3; seed++) {
            var p = ChatCompletionCreateParams.builder().model("gpt-4o-mini").addUserMessage("JSON:").temperature(1.5).seed(seed)
                    .maxCompletionTokens(60).responseFormat(Pet.class).build();
            Pet pet = client.chat().completions().create(p).choices().get(0).message().content().orElseThrow();
            assertThat(pet.name).isNotNull();
        }
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("gpt-4o-mini").addUserMessage("Weather?")
                .temperature(1.5).maxCompletionTokens(60).addTool(GetWeather.class)
                .toolChoice(com.openai.models.chat.completions.ChatCompletionToolChoiceOption.Auto.REQUIRED).build());
        var call = c.choices().get(0).message().toolCalls().orElseThrow().get(0).asFunction();
        assertThat(c.choices().get(0).finishReason().asString()).isEqualTo("tool_calls");
        assertThat(call.function().name()).isEqualTo("GetWeather");
        assertThat(call.function().arguments(GetWeather.class).city).isNotNull();
    }
}
