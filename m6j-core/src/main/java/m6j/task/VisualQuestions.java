package m6j.task;

import m6j.data.Tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Templated questions about an image, answered from its caption (the VQA objective): open questions in English and
 * Chinese answered by the caption, and yes/no questions about the image's own caption or another image's, answered
 * "yes, it is ..." or "no, it is ...". Encodings are cached: there are few distinct strings.
 */
public final class VisualQuestions {
    /** Questions whose answer is the caption itself (what a chat client asks about an image). */
    public static final List<String> OPEN = List.of("What is in this picture?", "What is in the image?", "Describe the image.",
            "What do you see?", "What is this?", "What does this picture show?", "这张图片里是什么？", "描述这张图片。");

    public record Pair(int[] question, int[] answer) {}

    private final Tokenizer tok;
    private final Map<String, int[]> cache = new HashMap<>();

    VisualQuestions(Tokenizer tok) { this.tok = tok; }

    /** A question about an image with this caption; other: the caption of a random image (for "no" answers). */
    Pair ask(String caption, int[] captionIds, String other, Random rng) {
        if (rng.nextInt(4) > 0) return new Pair(ids(OPEN.get(rng.nextInt(OPEN.size()))), captionIds);
        boolean same = rng.nextBoolean() || other.equals(caption);
        String asked = same ? caption : other;
        return new Pair(ids("Is this " + asked + "?"), ids((same ? "yes, it is " : "no, it is ") + caption + "."));
    }

    private int[] ids(String s) { return cache.computeIfAbsent(s, tok::encode); }
}
