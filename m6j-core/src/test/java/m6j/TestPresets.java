package m6j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.model.M6Config;
import m6j.model.MoeConfig;
import m6j.model.Presets;
import m6j.runtime.Json;

import java.util.Map;

/**
 * The tests' model shapes (m6j-core/src/test/resources/m6j/test-presets.json), by name; a test that needs another value
 * names the field it changes ("dModel", "moe.experts") instead of writing out every constructor argument.
 */
public final class TestPresets {
    private static final JsonNode ALL = Json.resource("/m6j/test-presets.json");

    private TestPresets() {}

    public static M6Config get(String name) { return get(name, Map.of()); }

    public static M6Config get(String name, Map<String, ?> overrides) {
        ObjectNode n = Json.presetEntry(ALL, name, "test preset");
        overrides.forEach((k, v) -> {
            ObjectNode at = k.startsWith("moe.") ? (ObjectNode) n.get("moe") : n;
            String field = k.startsWith("moe.") ? k.substring(4) : k;
            if (!at.has(field)) throw new IllegalArgumentException("test preset " + name + " has no field " + k);
            at.set(field, Json.MAPPER.valueToTree(v));
        });
        return Presets.fromJson(n);
    }

    /** The MoE settings of a test preset with overrides (keys without the "moe." prefix). */
    public static MoeConfig moe(String name, Map<String, ?> overrides) {
        Map<String, Object> prefixed = new java.util.HashMap<>();
        overrides.forEach((k, v) -> prefixed.put("moe." + k, v));
        return get(name, prefixed).moe();
    }
}
