package m6j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Named model shapes, read from the bundled m6j/presets.json; configs are also read from and written to JSON files. */
public final class Presets {
    public static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNode ALL = resource("/m6j/presets.json");

    private Presets() {}

    /** A JSON file bundled in the jar. */
    public static JsonNode resource(String path) {
        try (InputStream in = Presets.class.getResourceAsStream(path)) {
            if (in == null) throw new IOException("missing resource " + path);
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<String> names() { return names(ALL); }

    public static M6Config get(String name) { return fromJson(entry(ALL, name, "preset")); }

    /** The names in a preset file (keys starting with "_" are comments). */
    public static List<String> names(JsonNode all) {
        List<String> out = new ArrayList<>();
        all.fieldNames().forEachRemaining(n -> { if (!n.startsWith("_")) out.add(n); });
        return out;
    }

    /** A copy of preset `name` of a preset file with its name set; an unknown name is a usage error listing the known ones. */
    public static ObjectNode entry(JsonNode all, String name, String kind) {
        JsonNode n = all.get(name);
        if (n == null || name.startsWith("_"))
            throw new IllegalArgumentException("unknown " + kind + " '" + name + "'; known: " + String.join(", ", names(all)));
        ObjectNode o = n.deepCopy();
        o.put("name", name);
        return o;
    }

    public static M6Config fromJson(JsonNode n) {
        try {
            ObjectNode o = n.deepCopy();
            if (!o.has("moe")) o.set("moe", JSON.valueToTree(MoeConfig.dense()));
            if (!o.has("shareLayers")) o.put("shareLayers", false);
            return JSON.treeToValue(o, M6Config.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("bad model config: " + e.getMessage(), e);
        }
    }

    public static M6Config read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("missing model config: " + file);
        try {
            return fromJson(JSON.readTree(file.toFile()));
        } catch (IllegalArgumentException | IOException e) {
            throw new IOException("bad model config " + file + ": " + e.getMessage(), e);
        }
    }

    public static void write(M6Config c, Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), c);
    }
}
