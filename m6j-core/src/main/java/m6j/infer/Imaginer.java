package m6j.infer;

import m6j.checkpoint.Checkpoint;
import m6j.data.Tokenizer;
import m6j.model.M6Model;
import m6j.vq.ImageVocab;
import m6j.vq.VqCheckpoint;
import m6j.vq.VqModel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * Text -> image: the M6 model writes grid x grid VQGAN codes after the prompt (through the engine: logits restricted
 * to the image-code tokens, temperature / top-k / top-p, classifier-free guidance), then the VQGAN decodes them.
 * Guidance g mixes conditional and empty-prompt logits as uncond + g * (cond - uncond); g = 1 is plain conditional
 * sampling (no extra rows). Image i uses seed + i, so a fixed seed gives the same images, whatever else runs.
 */
public final class Imaginer implements AutoCloseable {
    /** How to draw. */
    public record Options(Sampling sampling, double guidance) {
        public Options {
            if (sampling == null) throw new IllegalArgumentException("sampling is required");
            if (guidance < 0 || guidance > 50) throw new IllegalArgumentException("--guidance must be in [0, 50]");
        }
    }

    public final Engine engine;
    public final ImageVocab vocab;
    public final VqModel vq;
    private final boolean ownsEngine;
    private final int bos, sep;

    /** A generator on an engine (the server's, or one of its own when ownsEngine, closed with this). */
    public Imaginer(Engine engine, ImageVocab vocab, VqModel vq, boolean ownsEngine) {
        this.engine = engine;
        this.vocab = vocab;
        this.vq = vq;
        this.ownsEngine = ownsEngine;
        M6Model model = engine.model();
        Tokenizer tok = engine.tokenizer();
        this.bos = tok.id(Tokenizer.BOS);
        this.sep = tok.id(Tokenizer.SEP);
        if (model.config.vocabSize() != tok.vocabSize() + vocab.codebookSize())
            throw new IllegalArgumentException("model vocabulary " + model.config.vocabSize() + " is not text " + tok.vocabSize() + " + codes " + vocab.codebookSize());
        if (vq.config.codebookSize() != vocab.codebookSize() || vq.config.grid() != vocab.grid())
            throw new IllegalArgumentException("the run's VQGAN does not match its image vocabulary " + vocab);
        if (model.config.maxTextLen() < vocab.sequenceLength())
            throw new IllegalArgumentException("model context " + model.config.maxTextLen() + " < prompt + codes " + vocab.sequenceLength());
    }

    /** The generator of a loaded checkpoint on the given engine, if its run draws (was trained with --vqgan). */
    public static Optional<Imaginer> of(Checkpoint.Loaded l, Engine engine) throws IOException {
        Optional<ImageVocab> v = ImageVocab.find(l.dir());
        if (v.isEmpty()) return Optional.empty();
        return Optional.of(new Imaginer(engine, v.get(), VqCheckpoint.load(v.get().vqganDir(l.dir())), false));
    }

    /** A run directory (or checkpoint in one) trained with --vqgan, on an engine of its own. */
    public static Imaginer load(Path runOrCheckpoint) throws IOException {
        Checkpoint.Loaded l = Checkpoint.load(runOrCheckpoint);
        ImageVocab v = ImageVocab.find(l.dir()).orElseThrow(() -> new IOException(runOrCheckpoint
                + " does not draw: it was trained without --vqgan (no " + ImageVocab.FILE + " in the run directory)"));
        return new Imaginer(Engine.local(l.model(), l.tokenizer()), v, VqCheckpoint.load(v.vqganDir(l.dir())), true);
    }

    /** Prompt token ids, with a clear message for an empty or over-long prompt. */
    public int[] promptIds(String prompt) {
        if (prompt == null || prompt.isBlank())
            throw new IllegalArgumentException("empty prompt: say what to draw, e.g. \"a pair of ankle boots\"");
        int[] ids = engine.tokenizer().encode(prompt.trim());
        if (ids.length > vocab.maxPromptTokens())
            throw new IllegalArgumentException("prompt too long: " + ids.length + " tokens, this model reads at most "
                    + vocab.maxPromptTokens() + " (shorten it)");
        return ids;
    }

    /** n images for a prompt (null = no text: the unconditional model). */
    public List<byte[]> images(String prompt, int n, Options o) { return vq.images(codes(prompt, n, o, () -> false)); }

    public long[][] codes(String prompt, int n, Options o) { return codes(prompt, n, o, () -> false); }

    /** n code grids (grid*grid codes each, 0..codebookSize-1); abandoned() turning true cancels them. */
    public long[][] codes(String prompt, int n, Options o, BooleanSupplier abandoned) {
        if (n < 1) throw new IllegalArgumentException("-n must be >= 1");
        int[] ids = prompt == null ? null : promptIds(prompt);
        boolean cfg = ids != null && o.guidance() != 1.0;
        int[] cond = prefix(ids), uncond = cfg ? prefix(null) : null;
        Sampling s = o.sampling();
        List<Request> reqs = new ArrayList<>();
        for (int i = 0; i < n; i++)
            reqs.add(Request.imageCodes(i, cond, uncond, o.guidance(), vocab.codes(), new Sampling(s.temperature(), s.topK(), s.topP(), s.seed() + i)));
        long[][] out = new long[n][];
        List<Event.Done> done = engine.run(reqs, abandoned);
        for (int i = 0; i < n; i++) out[i] = Arrays.stream(done.get(i).ids()).asLongStream().toArray();
        return out;
    }

    /** [BOS prompt... pad... SEP] of the image vocabulary's prompt length (the empty prompt for null). */
    private int[] prefix(int[] ids) {
        int p = vocab.promptLen();
        int[] out = new int[p];
        out[0] = bos;
        if (ids != null) System.arraycopy(ids, 0, out, 1, ids.length);
        out[p - 1] = sep;
        return out;
    }

    /** Uniformly random code grids (a baseline for the evaluation). */
    public long[][] randomCodes(int n, long seed) {
        Random r = new Random(seed);
        long[][] out = new long[n][vocab.codes()];
        for (long[] row : out) for (int i = 0; i < row.length; i++) row[i] = r.nextInt(vocab.codebookSize());
        return out;
    }

    /** "a pair of ankle boots" -> "a-pair-of-ankle-boots" for file names. */
    public static String slug(String prompt) {
        String s = prompt.trim().toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}]+", "-").replaceAll("^-+|-+$", "");
        if (s.isEmpty()) s = "image";
        return s.length() > 48 ? s.substring(0, 48) : s;
    }

    @Override public void close() throws InterruptedException { if (ownsEngine) engine.close(); }
}
