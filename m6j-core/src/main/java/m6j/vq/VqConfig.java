package m6j.vq;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.runtime.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Shape of a VQGAN: images of imageSize^2 x channels become a grid x grid map of codes from a codebook of
 * codebookSize vectors of codeDim. widths are the conv channels per resolution level (side halves between levels).
 * Presets live in resources (m6j/vqgan-presets.json).
 */
public record VqConfig(String name, int imageSize, int channels, int[] widths, int codeDim, int codebookSize,
                       double emaDecay, double commitment, int discWidth, int discStart, double discWeight) {
    public VqConfig {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("name is required");
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3: " + name);
        if (widths == null || widths.length < 1 || widths.length > 5) throw new IllegalArgumentException("widths needs 1..5 levels: " + name);
        for (int w : widths) if (w < 8 || w % 8 != 0) throw new IllegalArgumentException("widths must be multiples of 8 (group norm): " + name);
        if (imageSize < 8 || imageSize % (1 << (widths.length - 1)) != 0)
            throw new IllegalArgumentException("imageSize must be a multiple of 2^(levels-1): " + name);
        if (codeDim < 1 || codebookSize < 2) throw new IllegalArgumentException("codeDim >= 1 and codebookSize >= 2: " + name);
        if (!(emaDecay > 0 && emaDecay < 1)) throw new IllegalArgumentException("emaDecay must be in (0, 1): " + name);
        if (commitment < 0 || discWeight < 0 || discStart < 0 || discWidth < 8 || discWidth % 8 != 0)
            throw new IllegalArgumentException("commitment, discWeight, discStart >= 0 and discWidth a multiple of 8: " + name);
        widths = widths.clone();
    }

    /** Side of the code grid. */
    public int grid() { return imageSize >> (widths.length - 1); }

    /** Codes per image (grid^2). */
    public int codes() { return grid() * grid(); }

    private static final JsonNode ALL = Json.resource("/m6j/vqgan-presets.json");

    public static List<String> names() { return Json.presetNames(ALL); }

    public static VqConfig preset(String name) { return fromJson(Json.presetEntry(ALL, name, "VQGAN preset")); }

    public static VqConfig fromJson(JsonNode n) {
        try {
            return Json.MAPPER.treeToValue(n, VqConfig.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("bad VQGAN config: " + e.getMessage(), e);
        }
    }

    public static VqConfig read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("missing VQGAN config: " + file);
        try {
            return fromJson(Json.MAPPER.readTree(file.toFile()));
        } catch (IllegalArgumentException e) {
            throw new IOException("bad VQGAN config " + file + ": " + e.getMessage(), e);
        }
    }

    public void write(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), this);
    }
}
