package m6j.infer;

import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Source;
import m6j.data.Split;
import m6j.data.Tokenizer;
import m6j.model.ForwardContext;
import m6j.model.M6Model;
import m6j.model.RoutingStats;
import m6j.task.Batch;
import m6j.task.Loss;
import m6j.task.Objective;
import m6j.task.Sequence;
import m6j.task.Sequences;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** Held-out evaluation: caption accuracy by class, text perplexity per source against a unigram baseline, MoE routing. */
public final class Evaluator {
    /** byClass: scored by naming the class (else by the exact caption); empty: how many generated texts were empty. */
    public record CaptionResult(Source source, boolean byClass, int total, int correct, int empty, List<String[]> samples) {
        public double accuracy() { return total == 0 ? 0 : (double) correct / total; }
    }

    public record PerplexityResult(Source source, long tokens, double perplexity, double unigramPerplexity) {}

    /**
     * answers: held-out images asked {@link #QUESTION} (visual chat), scored as captions are; retrieval: per embedding
     * space ("aligned" when the model has the heads, "pooled" always), the held-out retrieval figures.
     */
    public record Report(List<CaptionResult> captions, List<CaptionResult> answers, List<PerplexityResult> perplexity, String routing,
                         Map<String, List<Retrieval.Result>> retrieval) {}

    /** The visual-chat question of the evaluation (one of the VQA objective's templates). */
    public static final String QUESTION = "What is in this picture?";

    private final M6Model model;
    private final Tokenizer tok;
    private final Corpus corpus;

    public Evaluator(M6Model model, Tokenizer tok, Corpus corpus) {
        this.model = model;
        this.tok = tok;
        this.corpus = corpus;
    }

    public Report run(int maxCaptions, int maxTexts) {
        RoutingStats stats = new RoutingStats();
        List<CaptionResult> caps = new ArrayList<>(), answers = new ArrayList<>();
        for (Source s : corpus.sources()) {                       // built-in and the user's own
            if (!s.hasImages() || corpus.examples(Split.TEST, s).isEmpty()) continue;
            caps.add(captions(s, maxCaptions, stats, null));
            answers.add(captions(s, maxCaptions, stats, QUESTION));
        }
        List<PerplexityResult> ppl = new ArrayList<>();
        for (Source s : corpus.sources()) {
            if (s.hasImages() || corpus.examples(Split.TEST, s).isEmpty()) continue;
            ppl.add(perplexity(s, maxTexts, stats));
        }
        Map<String, List<Retrieval.Result>> retrieval = new LinkedHashMap<>();
        for (Embedder.Space space : Embedder.Space.values()) {
            if (space == Embedder.Space.ALIGNED && !model.config.aligned()) continue;
            retrieval.put(space.name().toLowerCase(Locale.ROOT), new Retrieval(new Embedder(model, tok, space), corpus, maxCaptions).run());
        }
        return new Report(caps, answers, ppl, stats.summary(), retrieval);
    }

    /**
     * Greedy captions of held-out images (or answers to a question about them); correct when the text names the
     * image's class (its label), or for sources without classes, when it is the caption.
     */
    public CaptionResult captions(Source source, int max, RoutingStats stats, String question) {
        List<Example> test = corpus.examples(Split.TEST, source);
        test = test.subList(0, Math.min(max, test.size()));
        List<String> labels = new ArrayList<>();
        for (Example e : corpus.examples(Split.TRAIN, source)) if (!labels.contains(e.label())) labels.add(e.label());
        int correct = 0, empty = 0;
        List<String[]> samples = new ArrayList<>();
        boolean byClass = byClass(source, labels);
        List<String> captions;
        try (Engine engine = new Engine(model, tok, Engine.Options.local(), Engine.Stats.NONE, stats)) {
            captions = new Captioner(engine).answer(test.stream().map(Example::image).toList(), question, Sampling.greedy(), 24);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        for (int j = 0; j < test.size(); j++) {
            String caption = captions.get(j);
            Example e = test.get(j);
            boolean ok = byClass ? e.label().equals(namedClass(caption, labels))
                    : caption.equalsIgnoreCase(e.text().trim());
            if (ok) correct++;
            if (caption.isBlank()) empty++;
            if (samples.size() < 12) samples.add(new String[]{e.id(), e.text(), caption, ok ? "ok" : "wrong"});
        }
        return new CaptionResult(source, byClass, test.size(), correct, empty, samples);
    }

    /**
     * Whether captions of a source are scored by the class they name: Fashion-MNIST, and a user's source whose
     * examples all carry one of at most 100 labels (built-in sources label by category, which captions do not name).
     */
    static boolean byClass(Source s, List<String> labels) {
        if (s == Source.FASHION_MNIST) return true;
        return !s.builtIn() && !labels.isEmpty() && labels.size() <= 100 && labels.stream().noneMatch(String::isEmpty);
    }

    /** The class a caption names: the longest label found as whole words (so "t-shirt" beats "shirt"), else null. */
    public static String namedClass(String caption, List<String> labels) {
        String c = caption.toLowerCase(Locale.ROOT), best = null;
        for (String l : labels) {
            if (l.isEmpty()) continue;
            Pattern p = Pattern.compile("(?<![\\w-])" + Pattern.quote(l.toLowerCase(Locale.ROOT)) + "(?![\\w-])");
            if (p.matcher(c).find() && (best == null || l.length() > best.length())) best = l;
        }
        return best;
    }

    /** Token-level perplexity of plain left-to-right LM (BOS-only prefix) over held-out texts of one source. */
    public PerplexityResult perplexity(Source source, int max, RoutingStats stats) {
        List<Example> test = corpus.examples(Split.TEST, source);
        test = test.subList(0, Math.min(max, test.size()));
        Sequences seqs = new Sequences(tok, model.config.maxTextLen(), 1);
        double nll = 0;
        long n = 0;
        List<Sequence> all = new ArrayList<>();
        for (Example e : test) all.add(seqs.plainLm(tok.encode(e.text())));
        for (int i = 0; i < all.size(); i += 32) {
            try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
                Batch b = Batch.of(Objective.LM, all.subList(i, Math.min(all.size(), i + 32)), null,
                        model.config.imageSize(), model.config.channels(), model.config.patches());
                Tensor loss = Loss.of(model, b, new ForwardContext(false, stats));
                nll += loss.item_double() * b.targetCount();
                n += b.targetCount();
            }
        }
        return new PerplexityResult(source, n, Math.exp(nll / Math.max(1, n)), unigram(source, all));
    }

    /** Perplexity of an add-one unigram model estimated on the source's train split, scored on the same targets. */
    private double unigram(Source source, List<Sequence> test) {
        Sequences seqs = new Sequences(tok, model.config.maxTextLen(), 1);
        Map<Integer, Long> counts = new LinkedHashMap<>();
        long total = 0;
        for (Example e : corpus.examples(Split.TRAIN, source)) {
            for (int t : seqs.plainLm(tok.encode(e.text())).target()) {
                if (t < 0) continue;
                counts.merge(t, 1L, Long::sum);
                total++;
            }
        }
        int v = tok.vocabSize();
        double nll = 0;
        long n = 0;
        for (Sequence s : test) {
            for (int t : s.target()) {
                if (t < 0) continue;
                nll -= Math.log((counts.getOrDefault(t, 0L) + 1.0) / (total + v));
                n++;
            }
        }
        return Math.exp(nll / Math.max(1, n));
    }
}
