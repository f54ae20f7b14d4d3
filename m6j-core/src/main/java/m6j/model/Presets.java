package m6j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.runtime.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Named model shapes, read from the bundled m6j/presets.json; configs are also read from and written to JSON files. */
public final class Presets {
    private static final JsonNode ALL = Json.resource("/m6j/presets.json");
    /**
     * Hugging Face's config.json keys that name the model kind and its class, written beside the shape so a Python
     * loader (python/m6j_load.py) knows what it reads. The class is what the checkpoint holds: the prefix-LM
     * transformer over [image patches][text] with the tied LM head.
     */
    public static final String MODEL_TYPE = "m6j", ARCHITECTURE = "M6ForPrefixLM";

    private Presets() {}

    public static List<String> names() { return Json.presetNames(ALL); }

    public static M6Config get(String name) { return fromJson(Json.presetEntry(ALL, name, "preset")); }

    public static M6Config fromJson(JsonNode n) {
        try {
            ObjectNode o = n.deepCopy();
            o.remove(List.of("model_type", "architectures"));            // absent in older configs; not part of the shape
            if (!o.has("moe")) o.set("moe", Json.MAPPER.valueToTree(MoeConfig.dense()));
            if (!o.has("shareLayers")) o.put("shareLayers", false);
            if (!o.has("itcDim")) o.put("itcDim", 0);                   // configs from before the alignment heads
            return Json.MAPPER.treeToValue(o, M6Config.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("bad model config: " + e.getMessage(), e);
        }
    }

    public static M6Config read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("missing model config: " + file);
        try {
            return fromJson(Json.MAPPER.readTree(file.toFile()));
        } catch (IllegalArgumentException | IOException e) {
            throw new IOException("bad model config " + file + ": " + e.getMessage(), e);
        }
    }

    /** config.json: model_type and architectures (Hugging Face's), then the shape's fields. */
    public static void write(M6Config c, Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        ObjectNode o = Json.MAPPER.createObjectNode().put("model_type", MODEL_TYPE);
        o.putArray("architectures").add(ARCHITECTURE);
        o.setAll((ObjectNode) Json.MAPPER.valueToTree(c));
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), o);
    }
}
