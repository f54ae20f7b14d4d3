package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.concurrent.TimeUnit;

/** /v1/completions and /v1/chat/completions, plain and streamed (server-sent events), through the engine. */
final class GenerationApi {
    private final Server s;

    GenerationApi(Server s) { this.s = s; }

    /**
     * Decoding parameters shared by the endpoints (/v1/responses too). logprobs: top alternatives per token, or -1 for
     * none; format: free text, JSON or a tool call.
     */
    record Params(int maxTokens, int n, Sampling sampling, boolean stream, boolean includeUsage, List<String> stop, int logprobs,
                  OutputFormat format) {}

    record Job(int[] prefix, byte[] image) {}

    void completions(Exchange ex, ObjectNode req) throws IOException {
        Lora adapter = s.checkModel(modelOf(req));
        List<String> prompts = RequestJson.strings(RequestJson.required(req, "prompt"), "prompt");
        if (prompts.isEmpty()) throw ApiError.invalid("prompt", "empty_array", "'prompt' must not be an empty array.");
        refuseUnsupported(req, false);
        Params p = params(req, prompts.size(), false, OutputFormat.TEXT);
        List<Job> jobs = new ArrayList<>();
        for (String pr : prompts) jobs.add(new Job(prefix(pr, "prompt"), null));
        run(ex, req, jobs, p, false, adapter);
    }

    void chat(Exchange ex, ObjectNode req) throws IOException {
        Lora adapter = s.checkModel(modelOf(req));
        JsonNode messages = RequestJson.required(req, "messages");
        refuseUnsupported(req, true);
        OutputFormat format = OutputFormat.parse(req);
        ChatPrompt cp = ChatPrompt.parse(messages, s.model.config.imageSize(), format.toolNames(), s.opt.imageFetch());
        Params p = params(req, 1, true, format);
        run(ex, req, List.of(new Job(prefix(cp.text(), "messages"), cp.image())), p, true, adapter);
    }

    static String modelOf(ObjectNode req) {
        RequestJson.required(req, "model");
        return RequestJson.string(req, "model", null);
    }

    int[] prefix(String text, String param) {
        int[] ids = s.tok.encodeWithBos(text);
        int ctx = s.model.config.maxTextLen();
        if (ids.length + 1 > ctx)
            throw ApiError.invalid(param, "context_length_exceeded", "This model's maximum context length is " + ctx + " tokens; the prompt has "
                    + ids.length + " (with BOS), leaving no room to generate.");
        return ids;
    }

    /** Parameters both endpoints implement (or that describe the caller, not the output). */
    private static final Set<String> COMMON = Set.of("model", "max_tokens", "n", "temperature", "top_p", "top_k", "seed", "stream",
            "stream_options", "stop", "user", "logprobs", "presence_penalty", "frequency_penalty", "logit_bias", "extra_body");
    private static final Set<String> CHAT = Set.of("messages", "max_completion_tokens", "metadata", "service_tier", "store",
            "parallel_tool_calls", "response_format", "tools", "tool_choice", "top_logprobs", "modalities");
    private static final Set<String> COMPLETIONS = Set.of("prompt", "echo", "best_of", "suffix");

    /**
     * A parameter this server does not implement is refused (400 unsupported_parameter), never ignored: a client must
     * not believe it got what it asked for. Known parameters pass only at their no-op values; response_format, tools
     * and tool_choice are {@link OutputFormat}'s, logprobs {@link #logprobs}'.
     */
    private static void refuseUnsupported(ObjectNode req, boolean chat) {
        for (var it = req.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!COMMON.contains(k) && !(chat ? CHAT : COMPLETIONS).contains(k)) throw unsupported(k, "'" + k + "' is not supported by this server.");
        }
        for (String pen : List.of("presence_penalty", "frequency_penalty"))
            if (req.hasNonNull(pen) && req.get(pen).asDouble(1) != 0) throw unsupported(pen, "'" + pen + "' is not supported by this server (0 only).");
        if (req.hasNonNull("logit_bias") && !(req.get("logit_bias").isObject() && req.get("logit_bias").isEmpty()))
            throw unsupported("logit_bias", "logit_bias is not supported by this server.");
        // Spring AI on Jackson < 2.19 sends its (empty) map of extra parameters as a field instead of flattening it.
        if (req.hasNonNull("extra_body") && !(req.get("extra_body").isObject() && req.get("extra_body").isEmpty()))
            throw unsupported("extra_body", "'extra_body' must be empty (send extra parameters at the top level).");
        if (req.path("store").asBoolean(false)) throw unsupported("store", "This server stores no completions ('store' must be false).");
        if (req.path("echo").asBoolean(false)) throw unsupported("echo", "'echo' is not supported by this server.");
        if (req.hasNonNull("best_of") && req.get("best_of").asInt(0) != 1) throw unsupported("best_of", "best_of is not supported by this server (1 only).");
        if (req.hasNonNull("suffix") && !req.get("suffix").asText().isEmpty()) throw unsupported("suffix", "'suffix' (insertion) is not supported by this server.");
        JsonNode mod = req.get("modalities");
        if (mod != null && !mod.isNull() && !(mod.isArray() && mod.size() == 1 && mod.get(0).asText().equals("text")))
            throw unsupported("modalities", "This server answers with text only (modalities ['text']).");
    }

    private static ApiError unsupported(String param, String message) {
        return ApiError.invalid(param, "unsupported_parameter", message);
    }

    /**
     * chat: no token limit means the rest of the context (OpenAI's chat default), completions keep their default of
     * 16; a limit past the context is clamped to what is left, not refused.
     */
    private Params params(ObjectNode req, int prompts, boolean chat, OutputFormat format) {
        int ctx = s.model.config.maxTextLen();
        int max = RequestJson.integer(req, "max_tokens", chat ? ctx : 16, 1, Integer.MAX_VALUE);
        if (req.hasNonNull("max_completion_tokens")) max = RequestJson.integer(req, "max_completion_tokens", ctx, 1, Integer.MAX_VALUE);
        int n = RequestJson.integer(req, "n", 1, 1, s.opt.maxN());
        if (n * prompts > s.opt.maxN())
            throw ApiError.invalid("n", "At most " + s.opt.maxN() + " choices per request (prompts x n).");
        double temperature = RequestJson.number(req, "temperature", 1.0, 0, 2);
        double topP = RequestJson.number(req, "top_p", 1.0, 0, 1);
        int topK = RequestJson.integer(req, "top_k", 0, 0, s.model.config.vocabSize());
        long seed = req.hasNonNull("seed") ? seed(req) : System.nanoTime();
        boolean stream = RequestJson.bool(req, "stream", false);
        boolean usage = false;
        JsonNode so = req.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw RequestJson.wrongType("stream_options", "an object", so);
            usage = RequestJson.bool((ObjectNode) so, "include_usage", false);
        }
        List<String> stop = req.hasNonNull("stop") ? RequestJson.strings(req.get("stop"), "stop").stream().filter(x -> !x.isEmpty()).toList() : List.of();
        if (stop.size() > 4) throw ApiError.invalid("stop", "At most 4 stop sequences.");
        if (!stop.isEmpty() && format.grammar() != null)
            throw unsupported("stop", "Stop sequences with JSON output or tool calls are not supported (they could cut the JSON).");
        return new Params(max, n, new Sampling(temperature, topK, Math.max(topP, 1e-6), seed), stream, usage, stop, logprobs(req, chat), format);
    }

    /**
     * Top alternatives per token, or -1: chat takes logprobs (boolean) and top_logprobs (0..20), completions an integer
     * logprobs (0..5), as OpenAI's endpoints do.
     */
    private static int logprobs(ObjectNode req, boolean chat) {
        JsonNode lp = req.get("logprobs");
        if (!chat) {
            if (lp == null || lp.isNull()) return -1;
            if (!lp.isIntegralNumber()) throw RequestJson.wrongType("logprobs", "an integer", lp);
            return RequestJson.integer(req, "logprobs", 0, 0, 5);
        }
        boolean on = RequestJson.bool(req, "logprobs", false);
        int top = RequestJson.integer(req, "top_logprobs", 0, 0, 20);
        if (req.hasNonNull("top_logprobs") && !on) throw ApiError.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true.");
        return on ? top : -1;
    }

    private static long seed(ObjectNode req) {
        JsonNode n = req.get("seed");
        if (!n.isIntegralNumber() || !n.canConvertToLong()) throw RequestJson.wrongType("seed", "an integer", n);
        return n.asLong();
    }

    private void run(Exchange ex, ObjectNode req, List<Job> jobs, Params p, boolean chat, Lora adapter) throws IOException {
        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        Submitted sub = submit(ex, jobs, p, adapter, events);
        List<Request> seqs = sub.requests();
        int promptTokens = sub.promptTokens();
        long timeout = s.opt.engine().timeoutMs();
        ResponseShape r = new ResponseShape(chat, "%s-%s".formatted(chat ? "chatcmpl" : "cmpl", UUID.randomUUID().toString().replace("-", "")),
                System.currentTimeMillis() / 1000, modelOf(req), seqs.size());
        try {
            if (p.stream()) stream(ex, events, r, timeout, p, promptTokens);
            else ex.json(200, collect(ex, events, r, timeout, p, promptTokens));
        } finally {
            for (Request q : seqs) q.cancel();     // no-op for finished ones; frees the slots of a gone client at the next step
        }
    }

    /** The engine's requests of a call (n per job, in choice order) and the tokens their prompts count. */
    record Submitted(List<Request> requests, int promptTokens) {}

    /**
     * Submits n generations per job to the engine, their events to go to events (the one generation path of every
     * text endpoint). The caller cancels the requests when it is done with them.
     */
    Submitted submit(Exchange ex, List<Job> jobs, Params p, Lora adapter, LinkedBlockingQueue<Event> events) throws IOException {
        List<Request> seqs = new ArrayList<>();
        int promptTokens = 0;
        for (int j = 0; j < jobs.size(); j++) {
            Job job = jobs.get(j);
            int maxNew = Math.min(p.maxTokens(), s.model.config.maxTextLen() - job.prefix().length);
            promptTokens += job.prefix().length + (job.image() == null ? 0 : s.model.config.patches());
            for (int i = 0; i < p.n(); i++) {
                int index = j * p.n() + i;
                Sampling si = new Sampling(p.sampling().temperature(), p.sampling().topK(), p.sampling().topP(), p.sampling().seed() + index);
                Request q = Request.text(index, job.prefix(), job.image(), maxNew, si).stop(p.stop()).adapter(adapter).to(events, p.stream());
                if (p.format().grammar() != null) q.constrain(p.format().grammar(), p.format().optional());
                if (p.logprobs() >= 0) q.logprobs(p.logprobs());
                seqs.add(q);
            }
        }
        if (ex.clientGone()) throw new ClientConnection.Gone();
        s.engine.submit(seqs);
        return new Submitted(seqs, promptTokens);
    }

    /** The next event; the client's connection is looked at whenever none came for a while (a gone client cancels). */
    static Event next(Exchange ex, LinkedBlockingQueue<Event> events, long timeoutMs) throws IOException {
        long deadline = System.nanoTime() + (timeoutMs + 10_000) * 1_000_000L;
        try {
            while (true) {
                Event e = events.poll(ClientConnection.POLL_MS, TimeUnit.MILLISECONDS);
                if (e != null) return e;
                if (System.nanoTime() > deadline) throw ApiError.timeout(timeoutMs);
                if (ex.clientGone()) throw new ClientConnection.Gone();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.internal("interrupted");
        }
    }

    private ObjectNode collect(Exchange ex, LinkedBlockingQueue<Event> events, ResponseShape r, long timeout, Params p, int promptTokens) throws IOException {
        int done = 0, completion = 0;
        Event.Done[] out = new Event.Done[r.choices()];
        while (done < r.choices()) {
            Event e = next(ex, events, timeout);
            if (e instanceof Event.Failed f) throw ApiError.of(f.error());
            if (e instanceof Event.Done d) {
                done++;
                completion += d.completionTokens();
                out[d.index()] = d;
            }
        }
        ObjectNode root = r.head(false);
        ArrayNode choices = root.putArray("choices");
        for (int i = 0; i < r.choices(); i++) {
            Event.Done d = out[i];
            String[] call = p.format().tools() ? OutputFormat.call(d.text()) : null;
            if (call != null) { choices.add(r.toolChoice(i, callId(), call[0], call[1])); continue; }
            ObjectNode c = r.choice(i, d.text(), d.finish(), false);
            if (p.logprobs() >= 0) c.set("logprobs", r.logprobs(d.logprobs(), s.tok, 0));
            choices.add(c);
        }
        root.set("usage", usage(promptTokens, completion));
        return root;
    }

    private static String callId() { return "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24); }

    private void stream(Exchange ex, LinkedBlockingQueue<Event> events, ResponseShape r, long timeout, Params p, int promptTokens) throws IOException {
        ex.startEvents();
        int done = 0, completion = 0;
        int[] offset = new int[r.choices()];
        ToolStream[] calls = new ToolStream[r.choices()];
        if (p.format().tools()) for (int i = 0; i < calls.length; i++) calls[i] = new ToolStream(r, i);
        if (r.chat()) for (int i = 0; i < r.choices(); i++) ex.event(r.chunk(i, "", null, true));
        while (done < r.choices()) {
            Event e;
            try {
                e = next(ex, events, timeout);
            } catch (ApiError err) {
                ex.error(err);
                return;
            }
            int i = e.index();
            if (e instanceof Event.Failed f) { ex.error(ApiError.of(f.error())); return; }
            if (e instanceof Event.Token t && !t.text().isEmpty()) {
                if (calls[i] != null && calls[i].feed(t.text(), false, ex)) continue;
                ObjectNode chunk = r.chunk(i, t.text(), null, false);
                if (p.logprobs() >= 0) ((ObjectNode) chunk.get("choices").get(0)).set("logprobs", r.logprobs(t.logprobs(), s.tok, offset[i]));
                offset[i] += t.text().length();
                ex.event(chunk);
            } else if (e instanceof Event.Done d) {        // the engine held back any stop sequence: the text so far is final
                done++;
                completion += d.completionTokens();
                boolean call = calls[i] != null && calls[i].feed("", true, ex);
                ex.event(r.chunk(i, "", call ? "tool_calls" : d.finish(), false));
            }
        }
        if (p.includeUsage()) {
            ObjectNode u = r.head(true);
            u.putArray("choices");
            u.set("usage", usage(promptTokens, completion));
            ex.event(u);
        }
        ex.rawEvent("[DONE]");
    }

    /**
     * One choice's tool call as it streams: once the text shows the name, a first delta with the call's id and name,
     * then its arguments as they grow (the last character held back: the final '}' closes the call, not them).
     */
    private static final class ToolStream {
        private final ResponseShape r;
        private final int index;
        private final StringBuilder text = new StringBuilder();
        private Boolean call;
        private String id;
        private int sent;

        ToolStream(ResponseShape r, int index) {
            this.r = r;
            this.index = index;
        }

        /** Takes new text; true when it belongs to a tool call (sent as deltas here), false for plain content. */
        boolean feed(String delta, boolean last, Exchange ex) throws IOException {
            text.append(delta);
            if (call == null && text.length() > 0) call = text.charAt(0) == '{';
            if (call == null || !call) return false;
            if (id == null) {
                int at = OutputFormat.argumentsAt(text);
                if (at < 0) return true;
                id = callId();
                ex.event(r.toolChunk(index, id, OutputFormat.callName(text, at), ""));
                sent = at;
            }
            int end = text.length() - 1;
            if (end > sent) {
                ex.event(r.toolChunk(index, null, null, text.substring(sent, end)));
                sent = end;
            }
            return true;
        }
    }

    private static ObjectNode usage(int prompt, int completion) {
        return RequestJson.MAPPER.createObjectNode().put("prompt_tokens", prompt).put("completion_tokens", completion).put("total_tokens", prompt + completion);
    }
}
