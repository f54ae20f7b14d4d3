package m6j.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/** The JSON shapes of /v1/completions and /v1/chat/completions: whole responses, choices, stream chunks, stop cuts. */
record ResponseShape(boolean chat, String id, long created, String model, int choices, List<String> stop) {
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

    /** {text cut at the first stop sequence, the stop found or null}. */
    String[] applyStop(String text) {
        int at = -1;
        String found = null;
        for (String st : stop) {
            if (st.isEmpty()) continue;
            int i = text.indexOf(st);
            if (i >= 0 && (at < 0 || i < at)) { at = i; found = st; }
        }
        return found == null ? new String[]{text, null} : new String[]{text.substring(0, at), found};
    }
}
