package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.data.ChatTemplate;
import m6j.infer.Event;
import m6j.infer.Request;
import m6j.infer.Sampling;
import m6j.model.Lora;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * /v1/responses (OpenAI's Responses API), stateless: one message in, one message out, plain or streamed as the
 * Responses events. The input becomes a chat prompt (instructions a system turn, the same template and image
 * prefix as /v1/chat/completions) and goes through the same engine path as chat (GenerationApi.submit). Nothing
 * is stored, so whatever needs a stored response or conversation (previous_response_id, conversation, store: true,
 * background) is refused, as are tools, reasoning, include and file inputs.
 */
final class ResponsesApi {
    private final Server s;
    private final GenerationApi generation;

    ResponsesApi(Server s, GenerationApi generation) {
        this.s = s;
        this.generation = generation;
    }

    private static final Set<String> ROLES = Set.of("user", "assistant", "system", "developer");

    /** Implemented, or describe the caller rather than the output. */
    private static final Set<String> KNOWN = Set.of("model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "stream",
            "stream_options", "text", "metadata", "user", "safety_identifier", "prompt_cache_key", "service_tier", "parallel_tool_calls",
            // passed only at their no-op values (see refuseUnsupported)
            "store", "background", "previous_response_id", "conversation", "tools", "tool_choice", "include", "reasoning", "truncation",
            "top_logprobs", "max_tool_calls", "prompt", "prompt_cache_retention");

    void create(Exchange ex, ObjectNode req) throws IOException {
        Lora adapter = s.checkModel(GenerationApi.modelOf(req));
        JsonNode input = RequestJson.required(req, "input");
        refuseUnsupported(req);
        String instructions = RequestJson.string(req, "instructions", null);
        JsonNode text = req.get("text");
        if (text != null && !text.isNull() && !text.isObject()) throw RequestJson.wrongType("text", "an object", text);
        OutputFormat format = OutputFormat.textFormat(text == null ? null : text.get("format"), "text.format");
        JsonNode metadata = req.get("metadata");
        if (metadata != null && !metadata.isNull() && !metadata.isObject()) throw RequestJson.wrongType("metadata", "an object", metadata);
        ChatPrompt cp = prompt(instructions, input);
        int ctx = s.model.config.maxTextLen();
        // as chat: no limit is the rest of the context, a larger one is clamped to it (in submit)
        int max = RequestJson.integer(req, "max_output_tokens", ctx, 1, Integer.MAX_VALUE);
        double temperature = RequestJson.number(req, "temperature", 1.0, 0, 2);
        double topP = RequestJson.number(req, "top_p", 1.0, 0, 1);
        boolean stream = RequestJson.bool(req, "stream", false);
        JsonNode so = req.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw RequestJson.wrongType("stream_options", "an object", so);
            if (RequestJson.bool((ObjectNode) so, "include_obfuscation", false))
                throw unsupported("stream_options.include_obfuscation", "This server adds no obfuscation to stream events ('include_obfuscation' must be false).");
        }
        var p = new GenerationApi.Params(max, 1, new Sampling(temperature, 0, Math.max(topP, 1e-6), System.nanoTime()), stream, false, List.of(), -1, format);
        int[] prefix = generation.prefix(cp.text(), "input");

        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        GenerationApi.Submitted sub = generation.submit(ex, List.of(new GenerationApi.Job(prefix, cp.image())), p, adapter, events);
        Shape r = new Shape(hex("resp_", 48), hex("msg_", 48), System.currentTimeMillis() / 1000, req, instructions, temperature, topP,
                text == null ? null : text.get("format"), sub.promptTokens());
        long timeout = s.opt.engine().timeoutMs();
        try {
            if (stream) stream(ex, events, r, timeout);
            else ex.json(200, collect(ex, events, r, timeout));
        } finally {
            for (Request q : sub.requests()) q.cancel();
        }
    }

    /** A parameter not implemented is refused by name (400 unsupported_parameter), never ignored. */
    private static void refuseUnsupported(ObjectNode req) {
        for (var it = req.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KNOWN.contains(k)) throw unsupported(k, "'" + k + "' is not supported by this server.");
        }
        if (req.path("store").asBoolean(false)) throw unsupported("store", "This server stores no responses ('store' must be false).");
        if (req.path("background").asBoolean(false)) throw unsupported("background", "Background responses are not supported by this server.");
        for (String k : List.of("previous_response_id", "conversation", "reasoning", "max_tool_calls", "prompt", "prompt_cache_retention"))
            if (req.hasNonNull(k)) throw unsupported(k, "'" + k + "' is not supported by this server"
                    + (k.equals("previous_response_id") || k.equals("conversation") ? " (it stores no responses: send the whole conversation as 'input')." : "."));
        for (String k : List.of("tools", "include"))
            if (req.hasNonNull(k) && !(req.get(k).isArray() && req.get(k).isEmpty())) throw unsupported(k, "'" + k + "' is not supported by this server.");
        JsonNode choice = req.get("tool_choice");
        if (choice != null && !choice.isNull() && !(choice.isTextual() && Set.of("none", "auto").contains(choice.asText())))
            throw unsupported("tool_choice", "This server calls no tools ('tool_choice' 'none' or 'auto' only).");
        if (req.hasNonNull("truncation") && !req.get("truncation").asText().equals("disabled"))
            throw unsupported("truncation", "'truncation' must be 'disabled': an input over the context is refused, not cut.");
        if (req.hasNonNull("top_logprobs") && req.get("top_logprobs").asInt(1) != 0)
            throw unsupported("top_logprobs", "'top_logprobs' is not supported by /v1/responses here (use /v1/chat/completions).");
        JsonNode text = req.get("text");
        if (text != null && text.isObject()) {
            for (var it = text.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!k.equals("format") && !k.equals("verbosity")) throw unsupported("text." + k, "'text." + k + "' is not supported by this server.");
            }
            if (text.hasNonNull("verbosity") && !text.get("verbosity").asText().equals("medium"))
                throw unsupported("text.verbosity", "'text.verbosity' is not supported by this server ('medium' only).");
        }
    }

    private static ApiError unsupported(String param, String message) {
        return ApiError.invalid(param, "unsupported_parameter", message);
    }

    /**
     * instructions (a system turn first), then input: a string (one user turn) or a list of messages (type "message"
     * or none; roles user, assistant, system, developer; content a string or parts input_text, output_text, refusal
     * and at most one input_image, a data: URL).
     */
    private ChatPrompt prompt(String instructions, JsonNode input) {
        List<ChatTemplate.Message> turns = new ArrayList<>();
        if (instructions != null) turns.add(new ChatTemplate.Message("system", instructions));
        byte[] image = null;
        if (input.isTextual()) turns.add(new ChatTemplate.Message("user", input.asText()));
        else if (input.isArray()) {
            if (input.isEmpty()) throw ApiError.invalid("input", "empty_array", "'input' must contain at least one item.");
            for (int i = 0; i < input.size(); i++) {
                JsonNode m = input.get(i);
                String at = "input[" + i + "]";
                if (!m.isObject()) throw RequestJson.wrongType(at, "an object", m);
                String type = m.path("type").asText("message");
                if (!type.equals("message"))
                    throw unsupported(at + ".type", "Input items of type '" + type + "' are not supported by this server (only 'message').");
                JsonNode role = m.get("role");
                if (role == null || role.isNull()) throw ApiError.invalid(at + ".role", "missing_required_parameter", "Missing required parameter: '" + at + ".role'.");
                if (!role.isTextual()) throw RequestJson.wrongType(at + ".role", "a string", role);
                if (!ROLES.contains(role.asText()))
                    throw ApiError.invalid(at + ".role", "Invalid value '" + role.asText() + "' for '" + at + ".role': expected one of user, assistant, system, developer.");
                JsonNode content = RequestJson.required((ObjectNode) m, "content");
                if (content.isTextual()) { turns.add(new ChatTemplate.Message(role.asText(), content.asText())); continue; }
                if (!content.isArray()) throw RequestJson.wrongType(at + ".content", "a string or an array of content parts", content);
                List<String> texts = new ArrayList<>();
                for (int j = 0; j < content.size(); j++) {
                    JsonNode part = content.get(j);
                    String pat = at + ".content[" + j + "]";
                    if (!part.isObject()) throw RequestJson.wrongType(pat, "an object", part);
                    JsonNode pt = part.get("type");
                    if (pt == null || !pt.isTextual()) throw ApiError.invalid(pat + ".type", "missing_required_parameter", "Missing required parameter: '" + pat + ".type'.");
                    switch (pt.asText()) {
                        case "input_text", "output_text" -> texts.add(string(part, "text", pat));
                        case "refusal" -> texts.add(string(part, "refusal", pat));
                        case "input_image" -> {
                            if (part.hasNonNull("file_id"))
                                throw unsupported(pat + ".file_id", "This server has no file store; send the image as a data: URL in 'image_url'.");
                            String url = string(part, "image_url", pat);
                            if (image != null) throw ApiError.invalid(pat, "too_many_images", "This model reads one image per request.");
                            image = ImageInput.fromUrl(url, s.model.config.imageSize(), pat + ".image_url", s.opt.imageFetch());
                        }
                        case "input_file", "input_audio" -> throw unsupported(pat + ".type", "Content parts of type '" + pt.asText() + "' are not supported by this server.");
                        default -> throw ApiError.invalid(pat + ".type", "Unsupported content part type '" + pt.asText() + "' (use 'input_text' or 'input_image').");
                    }
                }
                turns.add(new ChatTemplate.Message(role.asText(), String.join("\n", texts)));
            }
        } else throw RequestJson.wrongType("input", "a string or an array of input items", input);
        return new ChatPrompt(ChatTemplate.render(turns), image);
    }

    private static String string(JsonNode part, String field, String at) {
        JsonNode t = part.get(field);
        if (t == null || t.isNull()) throw ApiError.invalid(at + "." + field, "missing_required_parameter", "Missing required parameter: '" + at + "." + field + "'.");
        if (!t.isTextual()) throw RequestJson.wrongType(at + "." + field, "a string", t);
        return t.asText();
    }

    private static String hex(String prefix, int digits) {
        String h = UUID.randomUUID().toString().replace("-", "") + UUID.randomUUID().toString().replace("-", "");
        return prefix + h.substring(0, digits);
    }

    private ObjectNode collect(Exchange ex, LinkedBlockingQueue<Event> events, Shape r, long timeout) throws IOException {
        while (true) {
            Event e = GenerationApi.next(ex, events, timeout);
            if (e instanceof Event.Failed f) throw ApiError.of(f.error());
            if (e instanceof Event.Done d) return r.response(d);
        }
    }

    private void stream(Exchange ex, LinkedBlockingQueue<Event> events, Shape r, long timeout) throws IOException {
        ex.startEvents();
        Seq seq = new Seq(ex);
        seq.send("response.created", obj().set("response", r.response(null)));
        seq.send("response.in_progress", obj().set("response", r.response(null)));
        seq.send("response.output_item.added", obj().put("output_index", 0).set("item", r.message(null, null)));
        seq.send("response.content_part.added", r.at().set("part", Shape.outputText("")));
        StringBuilder text = new StringBuilder();
        while (true) {
            Event e;
            try {
                e = GenerationApi.next(ex, events, timeout);
            } catch (ApiError err) {
                seq.error(err);
                return;
            }
            if (e instanceof Event.Failed f) { seq.error(ApiError.of(f.error())); return; }
            if (e instanceof Event.Token t && !t.text().isEmpty()) {
                text.append(t.text());
                ObjectNode d = r.at().put("delta", t.text());
                d.putArray("logprobs");
                seq.send("response.output_text.delta", d);
            } else if (e instanceof Event.Done d) {     // the text so far is final
                ObjectNode done = r.at().put("text", d.text());
                done.putArray("logprobs");
                seq.send("response.output_text.done", done);
                seq.send("response.content_part.done", r.at().set("part", Shape.outputText(d.text())));
                seq.send("response.output_item.done", obj().put("output_index", 0).set("item", r.message(d.text(), status(d))));
                seq.send(status(d).equals("completed") ? "response.completed" : "response.incomplete", obj().set("response", r.response(d)));
                return;
            }
        }
    }

    private static ObjectNode obj() { return RequestJson.MAPPER.createObjectNode(); }

    private static String status(Event.Done d) { return d.finish().equals("length") ? "incomplete" : "completed"; }

    /** A stream's events, numbered by sequence_number from 0. */
    private static final class Seq {
        private final Exchange ex;
        private int n;

        Seq(Exchange ex) { this.ex = ex; }

        void send(String type, ObjectNode fields) throws IOException {
            ObjectNode o = RequestJson.MAPPER.createObjectNode().put("type", type);
            o.setAll(fields);
            o.put("sequence_number", n++);
            ex.event(type, o);
        }

        /**
         * The Responses API's error event (type "error", code, message, param), with the error also as an "error"
         * object, which the official SDKs raise as an exception.
         */
        void error(ApiError e) throws IOException {
            ObjectNode o = e.toJson();
            o.put("code", e.code).put("message", e.getMessage()).put("param", e.param);
            send("error", o);
        }
    }

    /** The response object and its parts for one request. */
    private record Shape(String id, String itemId, long createdAt, ObjectNode req, String instructions, double temperature, double topP,
                         JsonNode format, int inputTokens) {
        /** The whole response: in progress (done null, no output yet), or completed / incomplete with its message. */
        ObjectNode response(Event.Done done) {
            ObjectNode o = RequestJson.MAPPER.createObjectNode().put("id", id).put("object", "response").put("created_at", createdAt);
            String status = done == null ? "in_progress" : status(done);
            o.put("status", status).put("background", false);
            if (status.equals("completed")) o.put("completed_at", System.currentTimeMillis() / 1000); else o.putNull("completed_at");
            o.putNull("error");
            if (status.equals("incomplete")) o.putObject("incomplete_details").put("reason", "max_output_tokens");
            else o.putNull("incomplete_details");
            if (instructions == null) o.putNull("instructions"); else o.put("instructions", instructions);
            if (req.hasNonNull("max_output_tokens")) o.set("max_output_tokens", req.get("max_output_tokens")); else o.putNull("max_output_tokens");
            o.put("model", GenerationApi.modelOf(req));
            ArrayNode output = o.putArray("output");
            if (done != null) output.add(message(done.text(), status));
            o.put("parallel_tool_calls", req.path("parallel_tool_calls").asBoolean(true)).putNull("previous_response_id").putNull("reasoning");
            o.put("service_tier", "default").put("store", false).put("temperature", temperature);
            ObjectNode text = o.putObject("text");
            text.set("format", format == null || format.isNull() ? RequestJson.MAPPER.createObjectNode().put("type", "text") : format);
            text.put("verbosity", "medium");
            o.put("tool_choice", req.path("tool_choice").asText("auto")).putArray("tools");
            o.put("top_p", topP).put("truncation", "disabled");
            if (done == null) o.putNull("usage");
            else {
                ObjectNode u = o.putObject("usage").put("input_tokens", inputTokens);
                u.putObject("input_tokens_details").put("cached_tokens", 0).put("cache_write_tokens", 0);
                u.put("output_tokens", done.completionTokens());
                u.putObject("output_tokens_details").put("reasoning_tokens", 0);
                u.put("total_tokens", inputTokens + done.completionTokens());
            }
            if (req.hasNonNull("user")) o.set("user", req.get("user")); else o.putNull("user");
            o.set("metadata", req.hasNonNull("metadata") ? req.get("metadata") : RequestJson.MAPPER.createObjectNode());
            return o;
        }

        /** The output message: in progress and empty (text null), or with its one output_text part. */
        ObjectNode message(String text, String status) {
            ObjectNode m = RequestJson.MAPPER.createObjectNode().put("id", itemId).put("type", "message")
                    .put("status", text == null ? "in_progress" : status).put("role", "assistant");
            ArrayNode content = m.putArray("content");
            if (text != null) content.add(outputText(text));
            return m;
        }

        static ObjectNode outputText(String text) {
            ObjectNode t = RequestJson.MAPPER.createObjectNode().put("type", "output_text").put("text", text);
            t.putArray("annotations");
            t.putArray("logprobs");
            return t;
        }

        /** Where a text event is: the message's one content part. */
        ObjectNode at() {
            return RequestJson.MAPPER.createObjectNode().put("item_id", itemId).put("output_index", 0).put("content_index", 0);
        }
    }
}
