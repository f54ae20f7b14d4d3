package m6j.serve;

import m6j.data.ChatTemplate;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Chat messages to the model's prefix: the conversation rendered by the chat template (data.ChatTemplate: one
 * line per turn, non-user turns marked by role) and at most one image (an image_url content part with a data:
 * URL), which goes in front as the image prefix. An image with no text asks for a caption; with text, a question
 * about the image.
 */
record ChatPrompt(String text, byte[] image) {
    private static final Set<String> ROLES = ChatTemplate.ROLES;

    /**
     * tools: names of the tools the answer may call, listed in a system turn first (only names: a small model's
     * context is short, and the grammar enforces the arguments). An assistant turn's tool_calls are rendered as the
     * model writes a call, {"name":...,"arguments":...}; tool results are "Tool: " turns. fetch: whether and how
     * http(s) image URLs are fetched (the server's {@link ServeOptions#imageFetch()}).
     */
    static ChatPrompt parse(JsonNode messages, int imageSize, List<String> tools, ImageFetch fetch) {
        if (!messages.isArray()) throw RequestJson.wrongType("messages", "an array", messages);
        if (messages.isEmpty()) throw ApiError.invalid("messages", "empty_array", "'messages' must contain at least one message.");
        List<ChatTemplate.Message> turns = new ArrayList<>();
        if (!tools.isEmpty()) turns.add(new ChatTemplate.Message("system", "Tools: " + String.join(", ", tools)));
        byte[] image = null;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) throw RequestJson.wrongType(at, "an object", m);
            JsonNode role = m.get("role");
            if (role == null || role.isNull()) throw ApiError.invalid(at + ".role", "missing_required_parameter", "Missing required parameter: '" + at + ".role'.");
            if (!role.isTextual()) throw RequestJson.wrongType(at + ".role", "a string", role);
            if (!ROLES.contains(role.asText())) throw ApiError.invalid(at + ".role", "Invalid value '" + role.asText() + "' for '" + at + ".role': expected one of " + ROLES + ".");
            JsonNode content = m.get("content");
            if (role.asText().equals("assistant") && m.hasNonNull("tool_calls")) turns.add(new ChatTemplate.Message("assistant", calls(m.get("tool_calls"), at)));
            if (content == null || content.isNull()) {
                if (role.asText().equals("assistant")) continue;
                throw ApiError.invalid(at + ".content", "missing_required_parameter", "Missing required parameter: '" + at + ".content'.");
            }
            if (content.isTextual()) { turns.add(new ChatTemplate.Message(role.asText(), content.asText())); continue; }
            List<String> texts = new ArrayList<>();
            if (!content.isArray()) throw RequestJson.wrongType(at + ".content", "a string or an array of content parts", content);
            for (int j = 0; j < content.size(); j++) {
                JsonNode part = content.get(j);
                String pat = at + ".content[" + j + "]";
                if (!part.isObject()) throw RequestJson.wrongType(pat, "an object", part);
                JsonNode type = part.get("type");
                if (type == null || !type.isTextual()) throw ApiError.invalid(pat + ".type", "missing_required_parameter", "Missing required parameter: '" + pat + ".type'.");
                switch (type.asText()) {
                    case "text" -> {
                        JsonNode t = part.get("text");
                        if (t == null || !t.isTextual()) throw ApiError.invalid(pat + ".text", "invalid_type", "'" + pat + ".text' must be a string.");
                        texts.add(t.asText());
                    }
                    case "image_url" -> {
                        if (image != null) throw ApiError.invalid(pat, "too_many_images", "This model reads one image per request.");
                        image = ImageInput.fromUrl(url(part.get("image_url"), pat + ".image_url"), imageSize, pat + ".image_url", fetch);
                    }
                    default -> throw ApiError.invalid(pat + ".type", "Unsupported content part type '" + type.asText() + "' (use 'text' or 'image_url').");
                }
            }
            turns.add(new ChatTemplate.Message(role.asText(), String.join("\n", texts)));
        }
        return new ChatPrompt(ChatTemplate.render(turns), image);
    }

    private static String calls(JsonNode calls, String at) {
        if (!calls.isArray()) throw RequestJson.wrongType(at + ".tool_calls", "an array", calls);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            JsonNode f = calls.get(i).path("function");
            if (!f.path("name").isTextual() || !f.path("arguments").isTextual())
                throw ApiError.invalid(at + ".tool_calls[" + i + "].function", "A tool call needs a 'function' with string 'name' and 'arguments'.");
            out.add("{\"name\":" + RequestJson.MAPPER.getNodeFactory().textNode(f.get("name").asText()) + ",\"arguments\":" + f.get("arguments").asText() + "}");
        }
        return String.join("\n", out);
    }

    /** {"url": "..."} or a bare string. */
    static String url(JsonNode n, String param) {
        if (n != null && n.isTextual()) return n.asText();
        if (n != null && n.isObject() && n.get("url") != null && n.get("url").isTextual()) return n.get("url").asText();
        throw ApiError.invalid(param, "invalid_type", "'" + param + "' must be an object with a string 'url' (a data: URL).");
    }
}
