package m6j.task;

import java.util.Locale;

/**
 * M6's pretraining tasks. Each turns one example into (input ids, bidirectional prefix length, targets):
 * ITT   image -> caption;  MTT  image + corrupted caption -> caption;
 * DENOISE corrupted text -> the masked spans (text-to-text transfer);  LM  text prefix -> continuation;
 * T2I   caption (dropped for a share of examples: classifier-free guidance) -> the image's VQGAN codes;
 * CHAT  an instruction or chat prompt from the corpus -> its completion (text; {"prompt","completion"} or
 *       {"messages"} data);
 * VQA   image + a templated question about it ("What is in this picture?", "Is this a sandal?") -> the answer,
 *       so that a chat message carrying an image and a question gets an answer (see {@link VisualQuestions});
 * CHAT, CLASSIFY (fine-tuning) and ITC (image-text alignment for retrieval), below.
 */
public enum Objective {
    ITT(true), MTT(true), DENOISE(false), LM(false),
    /** Text -> image codes (stage two of text-to-image): a caption prompt, then the VQGAN codes of its image. */
    T2I(true),
    /** Image + question -> answer (visual chat). Last, so that the other objectives keep their sampling seeds. */
    VQA(true),
    /** Prompt -> completion of the corpus's instruction and chat pairs (text records that carry a prompt). */
    CHAT(false),
    /**
     * Text (and its image, for half the batches of records that have one) -> the record's label as words: search
     * intent and classification by label words (infer.Classifier scores each label's likelihood).
     */
    CLASSIFY(false),
    /**
     * Image-text contrastive alignment: image and caption embedded apart by the alignment heads, symmetric InfoNCE
     * over the step's whole batch (in-batch negatives gathered from every rank) with a learned temperature: the
     * space that vector search and classification by retrieval use. The loss is the same on every rank.
     */
    ITC(true);

    public final boolean needsImage;

    Objective(boolean needsImage) { this.needsImage = needsImage; }

    /** Whether the image itself is fed to the model (t2i reads image-text pairs but feeds only their codes). */
    public boolean feedsImage() { return needsImage && this != T2I; }

    /** Whether the loss is one value over every rank's rows (computed alike on each), not a mean of per-rank ones. */
    public boolean batchWide() { return this == ITC; }

    public String id() { return name().toLowerCase(Locale.ROOT); }

    public static Objective parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown objective '" + s + "' (itt, mtt, denoise, lm, t2i, vqa, chat, classify, itc)");
        }
    }
}
