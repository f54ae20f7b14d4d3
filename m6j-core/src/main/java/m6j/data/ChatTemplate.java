package m6j.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.runtime.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * How a conversation becomes the text of the model's prefix: each turn on its own line, a user's turn as its text,
 * the others marked "System: ", "Assistant: ", "Tool: "; empty turns dropped. The model reads [image][BOS that text]
 * and writes the next assistant turn. A lone user message is its own text, which is what the visual-question and
 * chat objectives train. The same rule, as a Jinja template for Hugging Face's apply_chat_template, goes into each
 * checkpoint's tokenizer_config.json with the special tokens.
 */
public final class ChatTemplate {
    public record Message(String role, String content) {}

    public static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    /** {@link #render} in Jinja (the prefix starts with BOS, as the model reads it). */
    public static final String JINJA = "{% set out = [] %}{% for m in messages %}{% set c = m['content'] | trim %}{% if c %}"
            + "{% if m['role'] in ['system', 'developer'] %}{% set _ = out.append('System: ' + c) %}"
            + "{% elif m['role'] == 'assistant' %}{% set _ = out.append('Assistant: ' + c) %}"
            + "{% elif m['role'] == 'tool' %}{% set _ = out.append('Tool: ' + c) %}"
            + "{% else %}{% set _ = out.append(c) %}{% endif %}{% endif %}{% endfor %}{{ bos_token }}{{ out | join('\\n') }}";

    private ChatTemplate() {}

    /** The conversation's text (without BOS). */
    public static String render(List<Message> messages) {
        List<String> lines = new ArrayList<>();
        for (Message m : messages) {
            String c = m.content() == null ? "" : m.content().strip();
            if (c.isEmpty()) continue;
            lines.add(switch (m.role()) {
                case "system", "developer" -> "System: " + c;
                case "assistant" -> "Assistant: " + c;
                case "tool" -> "Tool: " + c;
                default -> c;                                   // user turns are their own text
            });
        }
        return String.join("\n", lines);
    }

    /** tokenizer_config.json for a checkpoint: the special tokens, the context and the chat template. */
    public static void writeConfig(Path file, int maxTextLen) throws IOException {
        ObjectNode c = Json.MAPPER.createObjectNode().put("tokenizer_class", "PreTrainedTokenizerFast")
                .put("bos_token", Tokenizer.BOS).put("eos_token", Tokenizer.EOS).put("pad_token", Tokenizer.PAD)
                .put("sep_token", Tokenizer.SEP).put("add_bos_token", true).put("model_max_length", maxTextLen)
                .put("chat_template", JINJA);
        Files.writeString(file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(c) + "\n");
    }
}
