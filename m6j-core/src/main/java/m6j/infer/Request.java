package m6j.infer;

import m6j.model.KvCache;
import m6j.model.Lora;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;

/**
 * One generation for the {@link Engine}: a prefix ([image][BOS text...]) and what to write after it, either text
 * (until EOS or the limit) or image codes (exactly maxNew tokens from the image-code part of the vocabulary,
 * optionally with classifier-free guidance: a second, unconditional prefix decoded in lock-step, the two rows'
 * logits mixed as uncond + g * (cond - uncond)). The fields below "engine state" belong to the engine thread.
 */
public final class Request {
    public enum Output { TEXT, IMAGE_CODES }

    final int index;
    final Output output;
    final int[] prefix;
    /** The unconditional prefix of a guided image request, else null. */
    final int[] unconditional;
    final double guidance;
    /** RGB bytes of the model's image size, or null. */
    final byte[] image;
    final int maxNew;
    final Sampling sampling;
    /** Texts that end a text request where they first appear (not part of its text), or empty. */
    List<String> stop = List.of();
    /** The low-rank adapter to decode with (a fine-tuned model served next to its base), or null for the base. */
    Lora adapter;
    private volatile boolean cancelled;
    BlockingQueue<Event> events;
    /** Token events only for streaming requests; others get just Done (fewer thread wake-ups per step). */
    boolean streaming;
    long deadlineNanos;
    /** True when the grammar applies only if the text starts with '{' (a tool call the model may choose not to make). */
    boolean grammarOptional;
    /** Top alternatives to report with each token's log-probability, or -1 for no log-probabilities. */
    int logprobs = -1;
    /** System.nanoTime() when submitted (queue time, time to first token and end-to-end latency count from it). */
    long submittedNanos;

    // engine state
    KvCache[] caches;
    int[] slots;
    Random rng;
    int[] generated = new int[8];
    int count;
    /** System.nanoTime() of the newest token (inter-token latency). */
    long lastTokenNanos;
    String emitted = "";
    /** Where the text is in its grammar (JSON under a schema, a tool call), or null for free text. */
    JsonGrammar.Stack state;
    final List<TokenLogprob> lps = new ArrayList<>();
    int lpsEmitted;

    private Request(int index, Output output, int[] prefix, int[] unconditional, double guidance, byte[] image, int maxNew, Sampling sampling) {
        if (prefix.length == 0) throw new IllegalArgumentException("empty prefix");
        if (maxNew < 1) throw new IllegalArgumentException("maxNew must be >= 1");
        if (unconditional != null && unconditional.length != prefix.length)
            throw new IllegalArgumentException("the unconditional prefix must have the conditional one's length");
        this.index = index;
        this.output = output;
        this.prefix = prefix;
        this.unconditional = unconditional;
        this.guidance = guidance;
        this.image = image;
        this.maxNew = maxNew;
        this.sampling = sampling;
    }

    /** Text after prefix (which starts with BOS), reading image (or null) first; sampled by sampling with its seed. */
    public static Request text(int index, int[] prefix, byte[] image, int maxNew, Sampling sampling) {
        return new Request(index, Output.TEXT, prefix, null, 1, image, maxNew, sampling);
    }

    /** maxNew image codes after prefix; unconditional (or null) is the empty-prompt prefix for guidance g. */
    public static Request imageCodes(int index, int[] prefix, int[] unconditional, double g, int codes, Sampling sampling) {
        return new Request(index, Output.IMAGE_CODES, prefix, unconditional, g, null, codes, sampling);
    }

    /** Where events go, and whether to stream Token events (else only Done). Call before submitting. */
    public Request to(BlockingQueue<Event> events, boolean streaming) {
        this.events = events;
        this.streaming = streaming && output == Output.TEXT;
        return this;
    }

    /** Stop sequences: the text ends before the first of them to appear (finish "stop"). Call before submitting. */
    public Request stop(List<String> stops) {
        for (String s : stops) if (s == null || s.isEmpty()) throw new IllegalArgumentException("empty stop sequence");
        this.stop = List.copyOf(stops);
        return this;
    }

    /** Decode with this adapter on the engine's model (null: the base). Call before submitting. */
    public Request adapter(Lora a) {
        this.adapter = a;
        return this;
    }

    /**
     * Text only as the grammar allows (it always completes within the limit: check {@link JsonGrammar#minLength} against
     * maxNew first); optional: only if the text starts with '{'. Call before submitting.
     */
    public Request constrain(JsonGrammar g, boolean optional) {
        if (output != Output.TEXT) throw new IllegalArgumentException("a grammar constrains text");
        this.grammarOptional = optional;
        this.state = g == null ? null : g.start();
        return this;
    }

    /** Report each token's log-probability and its top alternatives (0..20). Call before submitting. */
    public Request logprobs(int top) {
        if (top < 0 || top > 20) throw new IllegalArgumentException("top_logprobs must be in 0..20");
        this.logprobs = top;
        return this;
    }

    /** Ask the engine to drop this request at its next step (client gone, another choice failed). */
    public void cancel() { cancelled = true; }

    public boolean cancelled() { return cancelled; }

    public int index() { return index; }

    /** KV rows this request holds while it runs (two for a guided image request). */
    int rows() { return unconditional == null ? 1 : 2; }

    void add(int id) {
        if (count == generated.length) generated = Arrays.copyOf(generated, count * 2);
        generated[count++] = id;
    }

    int last() { return generated[count - 1]; }

    /** Drops the newest token (an EOS), with its log-probability. */
    void dropLast() {
        count--;
        if (lps.size() > count) lps.remove(lps.size() - 1);
    }

    /** Log-probabilities not yet sent with a Token event. */
    List<TokenLogprob> unsentLogprobs() {
        List<TokenLogprob> out = List.copyOf(lps.subList(Math.min(lpsEmitted, lps.size()), lps.size()));
        lpsEmitted = lps.size();
        return out;
    }

    int[] ids() { return Arrays.copyOf(generated, count); }
}
