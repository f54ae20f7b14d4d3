package m6j.langchain4j;

import m6j.api.M6j;
import m6j.train.TextToImageTest;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.store.embedding.CosineSimilarity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The adapter used as LangChain4j users use any ChatModel / EmbeddingModel, on a trained checkpoint in this JVM. */
class M6jLangChain4jTest {
    static M6j m6j;
    static ChatModel chat;
    static EmbeddingModel embeddings;

    @BeforeAll static void load() throws Exception {
        m6j = M6j.load(TextToImageTest.trainedRun());
        chat = M6jChatModel.builder().m6j(m6j).build();
        embeddings = new M6jEmbeddingModel(m6j);
    }

    @AfterAll static void close() throws Exception { m6j.close(); }

    static File png() throws java.io.IOException {
        try (var s = Files.walk(Path.of("data/sample/openclipart/png"))) {
            return s.filter(p -> p.toString().endsWith(".png")).sorted().findFirst().orElseThrow().toFile();
        }
    }

    @Test void chatGivesTheFacadesReplyWithUsageAndFinishReason() {
        ChatResponse r = chat.chat(ChatRequest.builder().messages(SystemMessage.from("Be brief."), UserMessage.from("a coat"))
                .temperature(0.0).maxOutputTokens(6).build());
        M6j.Reply direct = m6j.reply(List.of(M6j.Message.system("Be brief."), M6j.Message.user("a coat")), null, M6j.Generation.GREEDY.withMaxTokens(6));
        assertThat(r.aiMessage().text()).isEqualTo(direct.text());
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(direct.promptTokens()).isPositive();
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(direct.completionTokens()).isBetween(0, 6);
        assertThat(r.finishReason()).isEqualTo(direct.finish().equals("length") ? FinishReason.LENGTH : FinishReason.STOP);
        assertThat(chat.chat("a coat")).isNotNull();                        // LangChain4j's String convenience, at defaults
    }

    @Test void anImageGoesInFrontOfTheConversation() throws Exception {
        byte[] bytes = Files.readAllBytes(png().toPath());
        BufferedImage img = ImageIO.read(png());
        ChatResponse r = chat.chat(ChatRequest.builder().messages(UserMessage.from(TextContent.from("what is it"),
                ImageContent.from(Base64.getEncoder().encodeToString(bytes), "image/png"))).temperature(0.0).maxOutputTokens(8).build());
        String direct = m6j.reply(List.of(M6j.Message.user("what is it")), img, M6j.Generation.GREEDY.withMaxTokens(8)).text();
        String blind = m6j.reply(List.of(M6j.Message.user("what is it")), null, M6j.Generation.GREEDY.withMaxTokens(8)).text();
        assertThat(r.aiMessage().text()).isEqualTo(direct);
        assertThat(r.tokenUsage().inputTokenCount()).as("the image's patches count as input")
                .isEqualTo(m6j.reply(List.of(M6j.Message.user("what is it")), null, M6j.Generation.GREEDY.withMaxTokens(1)).promptTokens() + m6j.config().patches());
        assertThat(blind).isNotNull();
    }

    @Test void whatItCannotDoIsRefusedNotIgnored() {
        ToolSpecification tool = ToolSpecification.builder().name("weather").description("the weather").build();
        assertThatThrownBy(() -> chat.chat(ChatRequest.builder().messages(UserMessage.from("hi")).toolSpecifications(tool).build()))
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("tools");
        assertThatThrownBy(() -> chat.chat(ChatRequest.builder().messages(UserMessage.from("hi")).responseFormat(ResponseFormat.JSON).build()))
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("JSON");
        assertThatThrownBy(() -> chat.chat(ChatRequest.builder().messages(UserMessage.from("hi")).stopSequences(List.of("x")).build()))
                .isInstanceOf(UnsupportedFeatureException.class);
        assertThatThrownBy(() -> M6jChatModel.builder().build()).isInstanceOf(IllegalArgumentException.class);
    }

    /** (InMemoryEmbeddingStore lives in the langchain4j artifact, not installable here: ranked by langchain4j-core's cosine.) */
    @Test void embeddingsRankTheirOwnTextFirst() {
        List<TextSegment> docs = List.of(TextSegment.from("a pair of ankle boots"), TextSegment.from("a red handbag"),
                TextSegment.from("a warm winter coat"), TextSegment.from("the cat sat on the mat"));
        List<Embedding> vs = embeddings.embedAll(docs).content();
        assertThat(vs).hasSize(4).allSatisfy(v -> assertThat(v.dimension()).isEqualTo(embeddings.dimension()));
        assertThat(vs.get(0).vector()).containsExactly(m6j.embed("a pair of ankle boots"));
        for (int i = 0; i < docs.size(); i++) {
            Embedding q = embeddings.embed(docs.get(i).text()).content();
            int best = 0;
            for (int j = 1; j < vs.size(); j++) if (CosineSimilarity.between(q, vs.get(j)) > CosineSimilarity.between(q, vs.get(best))) best = j;
            assertThat(best).as("nearest to '%s'", docs.get(i).text()).isEqualTo(i);
            assertThat(CosineSimilarity.between(q, vs.get(i))).isGreaterThan(0.999);
        }
    }
}
