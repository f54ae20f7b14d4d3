package m6j.data;

import java.util.Objects;

/**
 * One corpus record.
 *
 * @param image RGB uint8, row-major HWC, imageSize*imageSize*3 bytes, or null for text-only records
 * @param label class or category name ("" if none)
 */
public record Example(Source source, Split split, String id, String text, String label, byte[] image) {
    public Example {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(split, "split");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(label, "label");
        if (id.isEmpty()) throw new IllegalArgumentException("empty id");
        if (image != null && image.length % 3 != 0) {
            throw new IllegalArgumentException("image length " + image.length + " is not a multiple of 3");
        }
    }

    public boolean hasImage() { return image != null; }

    @Override public String toString() {
        return "Example[" + source.id() + "/" + split + "/" + id + " label=" + label + " text=" + text
                + (image == null ? "" : " image=" + image.length + "B") + "]";
    }
}
