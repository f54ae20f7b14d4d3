package m6j.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.data.Tokenizer;
import m6j.infer.TokenLogprob;

import java.util.List;

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

    /** A chat choice that calls a tool: no content, one call, finish "tool_calls". */
    ObjectNode toolChoice(int index, String callId, String name, String arguments) {
        ObjectNode c = choice(index, null, "tool_calls", false);
        ((ObjectNode) c.get("message")).set("tool_calls", RequestJson.MAPPER.createArrayNode().add(call(callId, name, arguments)));
        return c;
    }

    /** A streamed piece of a tool call: the first carries id, type and name; later ones arguments only. */
    ObjectNode toolChunk(int index, String callId, String name, String arguments) {
        ObjectNode root = head(true);
        ObjectNode c = choice(index, null, null, true);
        ObjectNode call = callId != null ? call(callId, name, arguments) : RequestJson.MAPPER.createObjectNode();
        if (callId == null) call.putObject("function").put("arguments", arguments);
        call.put("index", 0);
        ((ObjectNode) c.get("delta")).set("tool_calls", RequestJson.MAPPER.createArrayNode().add(call));
        root.putArray("choices").add(c);
        return root;
    }

    private static ObjectNode call(String callId, String name, String arguments) {
        ObjectNode call = RequestJson.MAPPER.createObjectNode().put("id", callId).put("type", "function");
        call.putObject("function").put("name", name).put("arguments", arguments);
        return call;
    }

    /**
     * Log-probabilities in the endpoint's shape: chat {"content": [{token, logprob, bytes, top_logprobs}], "refusal"};
     * completions {tokens, token_logprobs, top_logprobs (token -> logprob), text_offset (into this text)}.
     */
    ObjectNode logprobs(List<TokenLogprob> lps, Tokenizer tok, int startOffset) {
        ObjectNode o = RequestJson.MAPPER.createObjectNode();
        if (chat) {
            ArrayNode content = o.putArray("content");
            for (TokenLogprob t : lps) {
                ObjectNode e = entry(tok, t.id(), t.logprob());
                ArrayNode top = e.putArray("top_logprobs");
                for (int k = 0; k < t.topIds().length; k++) top.add(entry(tok, t.topIds()[k], t.topLogprobs()[k]));
                content.add(e);
            }
            o.putNull("refusal");
            return o;
        }
        ArrayNode tokens = o.putArray("tokens"), own = o.putArray("token_logprobs"), top = o.putArray("top_logprobs"), offset = o.putArray("text_offset");
        int at = startOffset;
        for (TokenLogprob t : lps) {
            String s = tok.decode(new int[]{t.id()});
            tokens.add(s);
            own.add(t.logprob());
            ObjectNode alt = top.addObject();
            for (int k = 0; k < t.topIds().length; k++) alt.put(tok.decode(new int[]{t.topIds()[k]}), t.topLogprobs()[k]);
            offset.add(at);
            at += s.length();
        }
        return o;
    }

    private static ObjectNode entry(Tokenizer tok, int id, float logprob) {
        ObjectNode e = RequestJson.MAPPER.createObjectNode().put("token", tok.decode(new int[]{id})).put("logprob", logprob);
        ArrayNode bytes = e.putArray("bytes");
        byte[] b = tok.isSpecial(id) ? new byte[0] : tok.bytes(id);
        for (byte x : b) bytes.add(x & 0xFF);
        return e;
    }
}
