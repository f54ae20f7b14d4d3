package m6j.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** The JSON shapes of /v1/completions and /v1/chat/completions: whole responses, choices, stream chunks. */
record ResponseShape(boolean chat, String id, long created, String model, int choices) {
    ObjectNode head(boolean chunk) {
        String object = chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
        return RequestJson.MAPPER.createObjectNode().put("id", id).put("object", object).put("created", created).put("model", model)
                .put("system_fingerprint", "m6j");
    }

    ObjectNode choice(int index, String text, String finish, boolean delta) {
        ObjectNode c = RequestJson.MAPPER.createObjectNode().put("index", index);
        if (chat) {
            ObjectNode m = c.putObject(delta ? "delta" : "message");
            if (!delta) { m.put("role", "assistant").put("content", text); m.putNull("refusal"); }
            else if (text != null) m.put("content", text);
        } else c.put("text", text);
        c.putNull("logprobs");
        if (finish == null) c.putNull("finish_reason"); else c.put("finish_reason", finish);
        return c;
    }

    ObjectNode chunk(int index, String text, String finish, boolean roleFirst) {
        ObjectNode root = head(true);
        ObjectNode c = choice(index, finish != null && chat ? null : text, finish, true);
        if (roleFirst && chat) ((ObjectNode) c.get("delta")).put("role", "assistant");
        root.putArray("choices").add(c);
        return root;
    }
}
