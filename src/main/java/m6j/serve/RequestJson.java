package m6j.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.runtime.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Request-body reading with OpenAI-style errors: each typed getter names the parameter that is wrong. */
public final class RequestJson {
    public static final ObjectMapper MAPPER = Json.MAPPER;

    private RequestJson() {}

    public static ObjectNode parseObject(byte[] body) {
        JsonNode n;
        try {
            n = MAPPER.readTree(body);
        } catch (IOException e) {
            String m = e.getMessage() == null ? "" : e.getMessage().split("\n")[0];
            throw new ApiError(400, "invalid_request_error", "invalid_json", null, "Request body is not valid JSON: " + m, 0);
        }
        if (n == null || !n.isObject())
            throw new ApiError(400, "invalid_request_error", "invalid_json", null, "Request body must be a JSON object.", 0);
        return (ObjectNode) n;
    }

    public static JsonNode required(ObjectNode o, String name) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) throw ApiError.invalid(name, "missing_required_parameter", "Missing required parameter: '" + name + "'.");
        return n;
    }

    public static String string(ObjectNode o, String name, String dflt) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) return dflt;
        if (!n.isTextual()) throw wrongType(name, "a string", n);
        return n.asText();
    }

    public static int integer(ObjectNode o, String name, int dflt, int min, int max) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) return dflt;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw wrongType(name, "an integer", n);
        int v = n.asInt();
        if (v < min || v > max) throw ApiError.invalid(name, v + " is out of range for '" + name + "': expected " + min + " to " + max + ".");
        return v;
    }

    public static double number(ObjectNode o, String name, double dflt, double min, double max) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber()) throw wrongType(name, "a number", n);
        double v = n.asDouble();
        if (!(v >= min && v <= max)) throw ApiError.invalid(name, v + " is out of range for '" + name + "': expected " + min + " to " + max + ".");
        return v;
    }

    public static boolean bool(ObjectNode o, String name, boolean dflt) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) return dflt;
        if (!n.isBoolean()) throw wrongType(name, "a boolean", n);
        return n.asBoolean();
    }

    /** A string or an array of strings (OpenAI's prompt/input/stop shapes). */
    public static List<String> strings(JsonNode n, String name) {
        List<String> out = new ArrayList<>();
        if (n.isTextual()) out.add(n.asText());
        else if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.isTextual()) throw wrongType(name + "[]", "a string", e);
                out.add(e.asText());
            }
        } else throw wrongType(name, "a string or an array of strings", n);
        return out;
    }

    public static ApiError wrongType(String name, String want, JsonNode got) {
        return ApiError.invalid(name, "invalid_type", "Invalid type for '" + name + "': expected " + want + ", but got " + kind(got) + ".");
    }

    private static String kind(JsonNode n) {
        if (n.isTextual()) return "a string";
        if (n.isNumber()) return "a number";
        if (n.isBoolean()) return "a boolean";
        if (n.isArray()) return "an array";
        if (n.isObject()) return "an object";
        return "null";
    }

    public static byte[] bytes(Object o) {
        try {
            return MAPPER.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
