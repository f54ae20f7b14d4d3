package m6j.infer;

import m6j.checkpoint.Checkpoint;
import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.KvCache;
import m6j.model.M6Model;
import m6j.model.PrefixMask;
import m6j.runtime.Tensors;
import m6j.vq.ImageVocab;
import m6j.vq.VqCheckpoint;
import m6j.vq.VqModel;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Text -> image: the M6 model writes grid x grid VQGAN codes after the prompt (KV-cached decoding, logits restricted
 * to the image-code tokens, temperature / top-k / top-p, classifier-free guidance), then the VQGAN decodes them.
 * Guidance g mixes conditional and empty-prompt logits as uncond + g * (cond - uncond); g = 1 is plain conditional
 * sampling (no extra rows). A fixed seed gives the same images.
 */
public final class Imaginer {
    /** How to draw. */
    public record Options(Sampling sampling, double guidance) {
        public Options {
            if (sampling == null) throw new IllegalArgumentException("sampling is required");
            if (guidance < 0 || guidance > 50) throw new IllegalArgumentException("--guidance must be in [0, 50]");
        }
    }

    public final M6Model model;
    public final Tokenizer tok;
    public final ImageVocab vocab;
    public final VqModel vq;
    private final int offset, bos, sep;

    public Imaginer(M6Model model, Tokenizer tok, ImageVocab vocab, VqModel vq) {
        this.model = model;
        this.tok = tok;
        this.vocab = vocab;
        this.vq = vq;
        this.offset = tok.vocabSize();
        this.bos = tok.id(Tokenizer.BOS);
        this.sep = tok.id(Tokenizer.SEP);
        if (model.config.vocabSize() != offset + vocab.codebookSize())
            throw new IllegalArgumentException("model vocabulary " + model.config.vocabSize() + " is not text " + offset + " + codes " + vocab.codebookSize());
        if (vq.config.codebookSize() != vocab.codebookSize() || vq.config.grid() != vocab.grid())
            throw new IllegalArgumentException("the run's VQGAN does not match its image vocabulary " + vocab);
        if (model.config.maxTextLen() < vocab.sequenceLength())
            throw new IllegalArgumentException("model context " + model.config.maxTextLen() + " < prompt + codes " + vocab.sequenceLength());
    }

    /** A run directory (or checkpoint in one) trained with --vqgan. */
    public static Imaginer load(Path runOrCheckpoint) throws IOException {
        Checkpoint.Loaded l = Checkpoint.load(runOrCheckpoint);
        ImageVocab v = ImageVocab.find(l.dir()).orElseThrow(() -> new IOException(runOrCheckpoint
                + " does not draw: it was trained without --vqgan (no " + ImageVocab.FILE + " in the run directory)"));
        return new Imaginer(l.model(), l.tokenizer(), v, VqCheckpoint.load(v.vqganDir(l.dir())));
    }

    /** Prompt token ids, with a clear message for an empty or over-long prompt. */
    public int[] promptIds(String prompt) {
        if (prompt == null || prompt.isBlank())
            throw new IllegalArgumentException("empty prompt: say what to draw, e.g. \"a pair of ankle boots\"");
        int[] ids = tok.encode(prompt.trim());
        if (ids.length > vocab.maxPromptTokens())
            throw new IllegalArgumentException("prompt too long: " + ids.length + " tokens, this model reads at most "
                    + vocab.maxPromptTokens() + " (shorten it)");
        return ids;
    }

    /** n images for a prompt (null = no text: the unconditional model). */
    public List<byte[]> images(String prompt, int n, Options o) { return vq.images(codes(prompt, n, o)); }

    /** n code grids (grid*grid codes each, 0..codebookSize-1), in chunks of 64 images. */
    public long[][] codes(String prompt, int n, Options o) {
        if (n < 1) throw new IllegalArgumentException("-n must be >= 1");
        int[] ids = prompt == null ? null : promptIds(prompt);
        Random rng = new Random(o.sampling().seed());
        long[][] out = new long[n][];
        for (int s = 0; s < n; s += 64) {
            long[][] part = chunk(ids, Math.min(64, n - s), o, rng);
            System.arraycopy(part, 0, out, s, part.length);
        }
        return out;
    }

    private long[][] chunk(int[] ids, int m, Options o, Random rng) {
        boolean cfg = ids != null && o.guidance() != 1.0;
        int rows = cfg ? 2 * m : m, p = vocab.promptLen(), k = vocab.codebookSize(), codes = vocab.codes();
        long[] prefix = new long[rows * p];
        for (int r = 0; r < rows; r++) {
            prefix[r * p] = bos;
            boolean cond = ids != null && r < m;
            if (cond) for (int j = 0; j < ids.length; j++) prefix[r * p + 1 + j] = ids[j];
            prefix[r * p + p - 1] = sep;
        }
        long[][] out = new long[m][codes];
        ForwardContext ctx = ForwardContext.eval();
        try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope();
             KvCache cache = model.newCache(rows, p + codes)) {
            int[] pre = new int[rows];
            Arrays.fill(pre, p);
            Tensor h = model.forward(null, Tensors.longs(prefix, rows, p), 0, PrefixMask.of(pre, p, 0), cache, ctx);  // (R, P, d)
            Tensor last = h.narrow(1, p - 1, 1);                                                                   // (R, 1, d)
            for (int j = 0; j < codes; j++) {
                Tensor logits = model.logits(last).reshape(rows, -1).narrow(1, offset, k);                          // (R, K)
                if (cfg) {
                    Tensor c = logits.narrow(0, 0, m), u = logits.narrow(0, m, m);
                    logits = u.add(c.sub(u).mul(Tensors.scalar(o.guidance())));                                  // (m, K)
                }
                long[] next = choose(logits, m, k, o.sampling(), rng);
                long[] feed = new long[rows];
                for (int r = 0; r < rows; r++) feed[r] = offset + next[r % m];
                for (int i = 0; i < m; i++) out[i][j] = next[i];
                if (j == codes - 1) break;
                last = model.forward(null, Tensors.longs(feed, rows, 1), p + j, null, cache, ctx);                  // (R, 1, d)
            }
        }
        return out;
    }

    private static long[] choose(Tensor logits, int m, int k, Sampling s, Random rng) {
        if (s.isGreedy()) return Tensors.toLongs(logits.argmax(new LongOptional(1), false));
        float[] all = Tensors.toFloats(logits);
        long[] out = new long[m];
        for (int i = 0; i < m; i++) out[i] = Generator.sample(Arrays.copyOfRange(all, i * k, (i + 1) * k), s, rng);
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
}
