package m6j.task;

import m6j.data.Corpus;
import m6j.data.Example;
import m6j.data.Split;
import m6j.data.Tokenizer;
import m6j.model.M6Config;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The corpus's train split, tokenized once, with one deterministic sampler per objective. A sampler's whole
 * state is how many examples it has handed out, so a checkpoint can store it and resume exactly.
 */
public final class TrainData {
    /** prompt: the token ids of the record's instruction or question, or null when it has none. */
    record Item(int[] ids, byte[] image, String text, int[] prompt, int[] label) {}

    private final List<Item> imageText = new ArrayList<>(), text = new ArrayList<>(), chat = new ArrayList<>(), labelled = new ArrayList<>();
    /** Whether every labelled record has an image (then classify batches may read it). */
    private boolean labelledImages = true;
    private final Map<Objective, Long> consumed = new EnumMap<>(Objective.class);
    private final Sequences seqs;
    private final VisualQuestions questions;
    private final M6Config cfg;
    private final long seed;

    public TrainData(Corpus corpus, Tokenizer tok, M6Config cfg, int sentinels, long seed) {
        this(corpus, Split.TRAIN, tok, cfg, sentinels, seed);
    }

    /** The records of one split (TEST: the held-out loss during training). */
    public TrainData(Corpus corpus, Split split, Tokenizer tok, M6Config cfg, int sentinels, long seed) {
        this.cfg = cfg;
        this.seed = seed;
        this.seqs = new Sequences(tok, cfg.maxTextLen(), sentinels);
        this.questions = new VisualQuestions(tok);
        if (corpus.imageSize() != cfg.imageSize())
            throw new IllegalArgumentException("corpus images are " + corpus.imageSize() + "px but the model expects "
                    + cfg.imageSize() + "px: rebuild the corpus with --image-size " + cfg.imageSize());
        Map<String, int[]> cache = new HashMap<>();
        for (Example e : corpus.examples(split)) {
            int[] ids = cache.computeIfAbsent(e.text(), tok::encode);
            if (ids.length == 0) continue;
            int[] prompt = e.prompt().isEmpty() ? null : cache.computeIfAbsent(e.prompt(), tok::encode);
            int[] label = e.label().isEmpty() ? null : cache.computeIfAbsent(e.label(), tok::encode);
            Item it = new Item(ids, e.image(), e.text(), prompt, label);
            if (label != null && label.length > 0) { labelled.add(it); labelledImages &= e.image() != null; }
            if (e.image() != null) imageText.add(it);
            else text.add(it);
            if (e.image() == null && prompt != null) chat.add(it);
        }
        for (Objective o : Objective.values()) consumed.put(o, 0L);
    }

    public int imageTextCount() { return imageText.size(); }

    public int textCount() { return text.size(); }

    public boolean has(Objective o) {
        if (o == Objective.T2I && imageCodes == null) return false;
        return !pool(o).isEmpty();
    }

    private List<Item> pool(Objective o) {
        return o == Objective.CHAT ? chat : o == Objective.CLASSIFY ? labelled : o.needsImage ? imageText : text;
    }

    /** Image codes per image-text example (in imageText order, ids already offset) for the t2i objective. */
    private List<int[]> imageCodes;
    private int promptLen;
    private double dropPrompt;

    /** The images of the image-text examples, in the order {@link #attachImageCodes} expects. */
    public List<byte[]> images() { return imageText.stream().map(Item::image).toList(); }

    /** Enables t2i: codeIds.get(i) are the code token ids of images().get(i); dropPrompt: share of empty prompts. */
    public void attachImageCodes(List<int[]> codeIds, int promptLen, double dropPrompt) {
        if (codeIds.size() != imageText.size()) throw new IllegalArgumentException("codes for " + codeIds.size() + " of " + imageText.size() + " images");
        this.imageCodes = List.copyOf(codeIds);
        this.promptLen = promptLen;
        this.dropPrompt = dropPrompt;
    }

    public Map<Objective, Long> position() { return new EnumMap<>(consumed); }

    public void seek(Map<Objective, Long> pos) { consumed.putAll(pos); }

    /**
     * Micro-batch number micro of the current step for objective o (examples consumed + micro*batchSize onward);
     * rng drives corruption and prefix choices. Call {@link #advance} once per step with the step's total.
     */
    public Batch batch(Objective o, int batchSize, int micro, Random rng) {
        List<Item> pool = pool(o);
        if (pool.isEmpty()) throw new IllegalStateException("no training examples for objective " + o.id());
        List<Sequence> out = new ArrayList<>(batchSize);
        // classify reads the records' images in half the batches (when all have one): text alone and image + text
        boolean withImages = o.feedsImage() || (o == Objective.CLASSIFY && labelledImages && rng.nextBoolean());
        List<byte[]> images = withImages ? new ArrayList<>(batchSize) : null;
        long base = consumed.get(o) + (long) micro * batchSize;
        for (int i = 0; i < batchSize; i++) {
            int at = index(o, base + i, pool.size());
            Item it = pool.get(at);
            out.add(switch (o) {
                case ITT -> seqs.caption(it.ids());
                case MTT -> seqs.maskedCaption(it.ids(), rng);
                case DENOISE -> seqs.denoise(it.ids(), rng);
                case LM -> seqs.lm(it.ids(), rng);
                case T2I -> seqs.imageCodes(rng.nextDouble() < dropPrompt ? null : it.ids(), imageCodes.get(at), promptLen);
                case VQA -> {
                    if (it.prompt() != null) yield seqs.answer(it.prompt(), it.ids());        // the user's own question
                    VisualQuestions.Pair qa = questions.ask(it.text(), it.ids(), pool.get(rng.nextInt(pool.size())).text(), rng);
                    yield seqs.answer(qa.question(), qa.answer());
                }
                case CHAT -> seqs.answer(it.prompt(), it.ids());
                case CLASSIFY -> seqs.classify(it.ids(), it.label());
                case ITC -> seqs.caption(it.ids());                            // [BOS caption]: the text side
            });
            if (images != null) images.add(it.image());
        }
        return Batch.of(o, out, images, cfg.imageSize(), cfg.channels(), cfg.patches());
    }

    public void advance(Objective o, long examples) { consumed.merge(o, examples, Long::sum); }

    /** The c-th example of objective o's stream: epoch-wise permutations seeded by (seed, objective, epoch). */
    private int index(Objective o, long c, int n) {
        long epoch = c / n;
        int[] perm = permutation(o, epoch, n);
        return perm[(int) (c % n)];
    }

    private final Map<Objective, Object[]> permCache = new EnumMap<>(Objective.class);

    private int[] permutation(Objective o, long epoch, int n) {
        Object[] cached = permCache.get(o);
        if (cached != null && (long) cached[0] == epoch) return (int[]) cached[1];
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Random r = Seeds.random(seed, o.ordinal(), epoch);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i]; p[i] = p[j]; p[j] = t;
        }
        permCache.put(o, new Object[]{epoch, p});
        return p;
    }
}
