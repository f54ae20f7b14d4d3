package m6j.langchain4j;

import m6j.api.M6j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * LangChain4j's ChatModel over an m6j checkpoint in this JVM: messages go through the checkpoint's chat template, an
 * image (base64 ImageContent, at most one) in front as the server's chat endpoint puts it. Sampling parameters map
 * to m6j's; what m6j cannot do in process (tools, JSON response formats, stop sequences, penalties) is refused with
 * UnsupportedFeatureException rather than ignored. Use m6j's server for tools and JSON (constrained decoding).
 */
public final class M6jChatModel implements ChatModel {
    private final M6j m6j;
    private final String modelName;
    private final long seed;

    private M6jChatModel(Builder b) {
        this.m6j = b.m6j;
        this.modelName = b.modelName != null ? b.modelName : "m6j-" + m6j.config().name();
        this.seed = b.seed;
    }

    public static Builder builder() { return new Builder(); }

    public static final class Builder {
        private M6j m6j;
        private String modelName;
        private long seed = 0;

        /** The loaded model; closing it stays with the caller (one model can back a chat and an embedding model). */
        public Builder m6j(M6j m6j) { this.m6j = m6j; return this; }

        public Builder modelName(String name) { this.modelName = name; return this; }

        /** The sampling seed when a request asks for a temperature above 0. */
        public Builder seed(long seed) { this.seed = seed; return this; }

        public M6jChatModel build() {
            if (m6j == null) throw new IllegalArgumentException("M6jChatModel needs a model: builder().m6j(M6j.load(path))");
            return new M6jChatModel(this);
        }
    }

    @Override public ChatResponse doChat(ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty())
            throw new UnsupportedFeatureException("m6j in process does not call tools; serve the model (m6j serve) and use its OpenAI API");
        if (p.responseFormat() != null && p.responseFormat().type() == ResponseFormatType.JSON)
            throw new UnsupportedFeatureException("m6j in process does not constrain output to JSON; m6j serve does (response_format)");
        if (p.stopSequences() != null && !p.stopSequences().isEmpty()) throw new UnsupportedFeatureException("stop sequences are not supported in process");
        if (p.frequencyPenalty() != null || p.presencePenalty() != null) throw new UnsupportedFeatureException("frequency and presence penalties are not supported");
        List<M6j.Message> messages = new ArrayList<>();
        BufferedImage image = null;
        for (ChatMessage m : request.messages()) {
            if (m instanceof SystemMessage s) messages.add(M6j.Message.system(s.text()));
            else if (m instanceof AiMessage a) {
                if (a.hasToolExecutionRequests()) throw new UnsupportedFeatureException("tool calls in the history are not supported in process");
                messages.add(M6j.Message.assistant(a.text() == null ? "" : a.text()));
            } else if (m instanceof ToolExecutionResultMessage t) messages.add(new M6j.Message("tool", t.text()));
            else if (m instanceof UserMessage u) {
                List<String> texts = new ArrayList<>();
                for (Content c : u.contents()) {
                    if (c instanceof TextContent t) texts.add(t.text());
                    else if (c instanceof ImageContent ic) {
                        if (image != null) throw new UnsupportedFeatureException("this model reads one image per request");
                        image = decode(ic);
                    } else throw new UnsupportedFeatureException("content of type " + c.type() + " is not supported (text and images are)");
                }
                messages.add(M6j.Message.user(String.join("\n", texts)));
            } else throw new UnsupportedFeatureException("message of type " + m.type() + " is not supported");
        }
        double temperature = p.temperature() == null ? 1.0 : p.temperature();
        M6j.Generation g = new M6j.Generation(p.maxOutputTokens() == null ? Integer.MAX_VALUE : p.maxOutputTokens(), temperature,
                p.topP() == null ? 1.0 : p.topP(), p.topK() == null ? 0 : p.topK(), seed);
        M6j.Reply r = m6j.reply(messages, image, g);
        return ChatResponse.builder().aiMessage(AiMessage.from(r.text())).modelName(modelName)
                .tokenUsage(new TokenUsage(r.promptTokens(), r.completionTokens()))
                .finishReason(r.finish().equals("length") ? FinishReason.LENGTH : FinishReason.STOP).build();
    }

    private static BufferedImage decode(ImageContent ic) {
        String b64 = ic.image().base64Data();
        if (b64 == null) throw new UnsupportedFeatureException("images by URL are not fetched in process; give base64 data");
        try {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(b64)));
            if (img == null) throw new IllegalArgumentException("the image data is not an image m6j reads (PNG, JPEG, GIF, BMP, WebP)");
            return img;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the image: " + e.getMessage(), e);
        }
    }
}
