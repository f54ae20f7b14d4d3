package m6j.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** The one Jackson mapper of the project (thread-safe once configured), bundled JSON resources and preset files. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    /** A JSON file bundled in the jar, e.g. "/m6j/presets.json". */
    public static JsonNode resource(String path) {
        try (InputStream in = Json.class.getResourceAsStream(path)) {
            if (in == null) throw new IOException("missing resource " + path);
            return MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The names in a preset file (keys starting with "_" are comments). */
    public static List<String> presetNames(JsonNode all) {
        List<String> out = new ArrayList<>();
        all.fieldNames().forEachRemaining(n -> { if (!n.startsWith("_")) out.add(n); });
        return out;
    }

    /** A copy of preset `name` of a preset file with its name set; an unknown name is a usage error listing the known ones. */
    public static ObjectNode presetEntry(JsonNode all, String name, String kind) {
        JsonNode n = all.get(name);
        if (n == null || name.startsWith("_"))
            throw new IllegalArgumentException("unknown " + kind + " '" + name + "'; known: " + String.join(", ", presetNames(all)));
        ObjectNode o = n.deepCopy();
        o.put("name", name);
        return o;
    }

}
