package m6j.api;

import m6j.checkpoint.Checkpoint;
import m6j.data.ChatTemplate;
import m6j.data.Images;
import m6j.infer.Captioner;
import m6j.infer.Classifier;
import m6j.infer.Embedder;
import m6j.infer.Engine;
import m6j.infer.Event;
import m6j.infer.Imaginer;
import m6j.infer.Request;
import m6j.infer.Sampling;
import m6j.model.M6Config;
import m6j.runtime.Torch;
import m6j.vq.ImageGrid;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * m6j embedded in a Java program: one trained checkpoint, loaded once, asked for captions, answers, chat replies,
 * embeddings, label scores and images. No setup call first: loading starts libtorch. Everything runs through the
 * same inference code the server uses (one engine with continuous batching, so calls from several threads are
 * decoded together); close() stops it.
 *
 * <pre>{@code
 * try (M6j m6j = M6j.load(Path.of("work/quickstart/run"))) {
 *     String caption = m6j.caption(ImageIO.read(new File("boot.png")));
 *     float[] v = m6j.embed("a pair of ankle boots");
 * }
 * }</pre>
 *
 * Bad input (an empty prompt, a text longer than the context, no labels) throws IllegalArgumentException with the
 * reason; the model stays usable.
 */
public final class M6j implements AutoCloseable {
    /** How text is generated: up to maxTokens (clamped to what the context leaves), greedy when temperature is 0. */
    public record Generation(int maxTokens, double temperature, double topP, int topK, long seed) {
        public Generation {
            if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
            if (!(temperature >= 0 && temperature <= 2)) throw new IllegalArgumentException("temperature must be in [0, 2], got " + temperature);
            if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
            if (topK < 0) throw new IllegalArgumentException("topK must be >= 0 (0 = all), got " + topK);
        }

        /** The most likely token each step, up to the end of the context: the same answer every time. */
        public static final Generation GREEDY = new Generation(Integer.MAX_VALUE, 0, 1, 0, 0);

        public static Generation sampled(double temperature, long seed) { return new Generation(Integer.MAX_VALUE, temperature, 1, 0, seed); }

        public Generation withMaxTokens(int n) { return new Generation(n, temperature, topP, topK, seed); }

        Sampling sampling() { return new Sampling(temperature, topK, topP, seed); }
    }

    /** One chat turn; role one of system, developer, user, assistant, tool. */
    public record Message(String role, String content) {
        public Message {
            if (!ChatTemplate.ROLES.contains(role)) throw new IllegalArgumentException("role '" + role + "' is not one of " + ChatTemplate.ROLES);
            if (content == null) throw new IllegalArgumentException("a message needs content");
        }

        public static Message user(String content) { return new Message("user", content); }

        public static Message system(String content) { return new Message("system", content); }

        public static Message assistant(String content) { return new Message("assistant", content); }
    }

    /** A generated text with why it ended ("stop": the model ended it, "length": the limit or the context) and its token counts. */
    public record Reply(String text, String finish, int promptTokens, int completionTokens) {}

    private final Checkpoint.Loaded loaded;
    private final Engine engine;
    private final Captioner captioner;
    private final Embedder embedder;
    private final Imaginer imaginer;

    private M6j(Checkpoint.Loaded loaded) throws IOException {
        this.loaded = loaded;
        this.engine = Engine.local(loaded.model(), loaded.tokenizer());
        this.captioner = new Captioner(engine);
        this.embedder = Embedder.of(loaded.model(), loaded.tokenizer());
        this.imaginer = Imaginer.of(loaded, engine).orElse(null);
    }

    /** A run directory (its newest complete checkpoint) or a checkpoint directory. */
    public static M6j load(Path runOrCheckpoint) throws IOException {
        Torch.init();
        return new M6j(Checkpoint.load(runOrCheckpoint));
    }

    /** The model's shape: image size, context length, vocabulary, experts. */
    public M6Config config() { return loaded.model().config; }

    /** The checkpoint directory loaded. */
    public Path checkpoint() { return loaded.dir(); }

    /** A caption of the image, greedy. */
    public String caption(BufferedImage image) { return caption(image, Generation.GREEDY); }

    public String caption(BufferedImage image, Generation g) { return answer(image, null, g); }

    /** An answer to a question about the image (null question: a caption), as a chat with the image gets it. */
    public String answer(BufferedImage image, String question, Generation g) {
        int[] prefix = question == null ? new int[]{loaded.tokenizer().id(m6j.data.Tokenizer.BOS)} : prefix(question);
        return generate(prefix, rgb(image), g);
    }

    /** The assistant's reply to a conversation, rendered by the checkpoint's chat template (tokenizer_config.json). */
    public String chat(List<Message> messages, Generation g) { return reply(messages, null, g).text(); }

    /**
     * The reply to a conversation about an image (null: none), as the server's chat endpoint gives it: the image is
     * the prefix in front of the rendered conversation.
     */
    public Reply reply(List<Message> messages, BufferedImage image, Generation g) {
        if (messages.isEmpty()) throw new IllegalArgumentException("a chat needs at least one message");
        List<ChatTemplate.Message> turns = new ArrayList<>();
        for (Message m : messages) turns.add(new ChatTemplate.Message(m.role(), m.content()));
        return run(prefix(ChatTemplate.render(turns)), image == null ? null : rgb(image), g);
    }

    public String chat(String userMessage) { return chat(List.of(Message.user(userMessage)), Generation.GREEDY); }

    /** The continuation of a plain text prompt. */
    public String complete(String prompt, Generation g) { return generate(prefix(prompt), null, g); }

    /** Embedding dimensions (the aligned image-text space when the model was trained with itc, else its width). */
    public int dimensions() { return embedder.dimensions(); }

    /** A unit-length text embedding, comparable by dot product with other texts' and images'. */
    public float[] embed(String text) {
        if (text.isEmpty()) throw new IllegalArgumentException("nothing to embed: the text is empty");
        int[] ids = embedder.ids(text);
        return onEngine(() -> embedder.text(ids));
    }

    /** A unit-length image embedding. */
    public float[] embed(BufferedImage image) {
        byte[] rgb = rgb(image);
        return onEngine(() -> embedder.image(rgb));
    }

    /** Labels scored for a text, best first (the model's likelihood of each label's words). */
    public List<Classifier.Ranked> classify(String text, List<String> labels) { return classify(text, null, labels); }

    /** Labels scored for an image and an optional text (null or empty: the image alone), best first. */
    public List<Classifier.Ranked> classify(String text, BufferedImage image, List<String> labels) {
        String t = text == null ? "" : text;
        if (t.isEmpty() && image == null) throw new IllegalArgumentException("nothing to classify: give a text, an image or both");
        if (!t.isEmpty()) embedder.ids(t);                                   // context check with a clear message
        byte[] rgb = image == null ? null : rgb(image);
        Classifier c = new Classifier(loaded.model(), null, loaded.tokenizer(), labels);
        return onEngine(() -> c.ranked(c.scores(List.of(t), rgb == null ? null : List.of(rgb))[0]));
    }

    /** Whether this checkpoint draws: trained as a text-to-image (stage two) run with its VQGAN. */
    public boolean draws() { return imaginer != null; }

    /** n images for a prompt, at the VQGAN's resolution; guidance 0 = none (classifier-free guidance scale). */
    public List<BufferedImage> imagine(String prompt, int n, Generation g, double guidance) {
        if (imaginer == null)
            throw new IllegalStateException(loaded.dir() + " does not draw: it was not trained as a text-to-image run (m6j train --vqgan)");
        if (n < 1 || n > 64) throw new IllegalArgumentException("n must be in 1..64, got " + n);
        List<BufferedImage> out = new ArrayList<>();
        for (byte[] rgb : imaginer.images(prompt, n, new Imaginer.Options(g.sampling(), guidance)))
            out.add(ImageGrid.image(rgb, imaginer.vq.config.imageSize()));
        return out;
    }

    public Optional<Imaginer> imaginer() { return Optional.ofNullable(imaginer); }

    @Override public void close() throws InterruptedException {
        if (imaginer != null) imaginer.close();
        engine.close();
    }

    // -- through the engine

    private String generate(int[] prefix, byte[] image, Generation g) { return run(prefix, image, g).text(); }

    private Reply run(int[] prefix, byte[] image, Generation g) {
        int room = config().maxTextLen() - prefix.length;
        if (room < 1) throw new IllegalArgumentException("the prompt fills the model's context of " + config().maxTextLen() + " tokens");
        Event.Done d = engine.run(List.of(Request.text(0, prefix, image, Math.min(g.maxTokens(), room), g.sampling()))).get(0);
        return new Reply(d.text().trim(), d.finish(), d.promptTokens(), d.completionTokens());
    }

    /** [BOS] + the text's tokens, refused with the sizes when nothing is left to generate. */
    private int[] prefix(String text) {
        int[] p = engine.prompt(text);
        if (p.length + 1 > config().maxTextLen())
            throw new IllegalArgumentException("the prompt has " + p.length + " tokens (with BOS); this model's context is "
                    + config().maxTextLen() + ", leaving no room to generate");
        return p;
    }

    private byte[] rgb(BufferedImage image) {
        if (image == null) throw new IllegalArgumentException("no image");
        return Images.toSquareRgb(image, config().imageSize());
    }

    private <T> T onEngine(java.util.concurrent.Callable<T> work) {
        try {
            return engine.call(work);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
