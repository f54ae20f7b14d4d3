package m6j.data;

import java.util.Objects;

/**
 * One corpus record.
 *
 * @param text   the caption, the plain text, or the answer/completion of an instruction or chat pair
 * @param label  class or category name ("" if none)
 * @param image  RGB uint8, row-major HWC, imageSize*imageSize*3 bytes, or null for text-only records
 * @param prompt the instruction or question of an instruction/chat pair, as plain text (the user turns joined by
 *               newlines, no chat template); "" if none
 */
public record Example(Source source, Split split, String id, String text, String label, byte[] image, String prompt) {
    public Example {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(split, "split");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(prompt, "prompt");
        if (id.isEmpty()) throw new IllegalArgumentException("empty id");
        if (image != null && image.length % 3 != 0) {
            throw new IllegalArgumentException("image length " + image.length + " is not a multiple of 3");
        }
    }

    /** A record without a prompt. */
    public Example(Source source, Split split, String id, String text, String label, byte[] image) {
        this(source, split, id, text, label, image, "");
    }

    public boolean hasImage() { return image != null; }

    public boolean hasPrompt() { return !prompt.isEmpty(); }

    @Override public String toString() {
        return "Example[" + source.id() + "/" + split + "/" + id + " label=" + label
                + (prompt.isEmpty() ? "" : " prompt=" + prompt) + " text=" + text
                + (image == null ? "" : " image=" + image.length + "B") + "]";
    }
}
