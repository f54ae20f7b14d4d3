package m6j.serve;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.JsonParserDelegate;
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

    /**
     * JSON tokens and nesting a request body may have. The largest real request (256 embedding inputs of token ids)
     * has about 130,000 tokens; an 8 MiB body of "{},{},..." would otherwise build a 229 MB tree before any check.
     */
    static final int MAX_TOKENS = 262_144, MAX_DEPTH = 64;

    /** A parsed request body and the number of JSON tokens it had (what its tree costs). */
    record Parsed(ObjectNode json, int tokens) {}

    /** Parses a request body, refusing more than MAX_TOKENS tokens or MAX_DEPTH nesting while parsing, not after. */
    static Parsed parseObject(byte[] body) {
        JsonNode n;
        Counting p = null;
        try {
            p = new Counting(MAPPER.getFactory().createParser(body));
            n = MAPPER.readTree(p);
        } catch (ApiError e) {
            throw e;
        } catch (IOException e) {
            String m = e.getMessage() == null ? "" : e.getMessage().split("\n")[0];
            throw new ApiError(400, "invalid_request_error", "invalid_json", null, "Request body is not valid JSON: " + m, 0);
        }
        if (n == null || !n.isObject())
            throw new ApiError(400, "invalid_request_error", "invalid_json", null, "Request body must be a JSON object.", 0);
        return new Parsed((ObjectNode) n, p.tokens);
    }

    /** Counts tokens and depth as the tree is built. */
    private static final class Counting extends JsonParserDelegate {
        int tokens, depth;

        Counting(JsonParser p) { super(p); }

        @Override public JsonToken nextToken() throws IOException {
            JsonToken t = super.nextToken();
            if (t == null) return null;
            if (++tokens > MAX_TOKENS) throw tooComplex("more than " + MAX_TOKENS + " JSON tokens");
            if (t.isStructStart() && ++depth > MAX_DEPTH) throw tooComplex("nesting deeper than " + MAX_DEPTH);
            if (t.isStructEnd()) depth--;
            return t;
        }

        private static ApiError tooComplex(String what) {
            return new ApiError(413, "invalid_request_error", "request_too_complex", null, "Request body has " + what + ".", 0);
        }
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
