package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.infer.JsonGrammar;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a chat request asks its answer to be: free text; JSON (response_format json_object, or json_schema under its
 * schema); or a call of one of its tools (tools + tool_choice). JSON and tool calls are decoded under a grammar
 * (infer.JsonGrammar), so they always parse and validate; "auto" lets the model answer in text instead, but an
 * answer that opens with '{' is then a valid call. A schema the grammar cannot enforce is refused, never ignored.
 */
record OutputFormat(JsonGrammar grammar, boolean optional, List<String> toolNames) {
    static final OutputFormat TEXT = new OutputFormat(null, false, List.of());
    private static final Pattern TOOL_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Set<String> FUNCTION_FIELDS = Set.of("name", "description", "parameters", "strict");

    /** True when the answer may be a tool call. */
    boolean tools() { return !toolNames.isEmpty(); }

    static OutputFormat parse(ObjectNode req) {
        OutputFormat tools = tools(req);
        OutputFormat json = responseFormat(req.get("response_format"));
        if (tools.tools() && json.grammar != null)
            throw ApiError.invalid("response_format", "unsupported_parameter", "response_format with tools is not supported by this server: use one or the other.");
        return tools.tools() ? tools : json;
    }

    private static OutputFormat responseFormat(JsonNode rf) {
        if (rf == null || rf.isNull()) return TEXT;
        if (!rf.isObject()) throw RequestJson.wrongType("response_format", "an object", rf);
        String type = rf.path("type").asText("");
        return switch (type) {
            case "text" -> TEXT;
            case "json_object" -> new OutputFormat(JsonGrammar.anyObject(), false, List.of());
            case "json_schema" -> {
                JsonNode js = rf.get("json_schema");
                if (js == null || !js.isObject())
                    throw ApiError.invalid("response_format.json_schema", "missing_required_parameter", "Missing required parameter: 'response_format.json_schema'.");
                JsonNode schema = js.get("schema");
                yield new OutputFormat(schema == null ? JsonGrammar.anyObject() : schema(schema, "response_format.json_schema.schema"), false, List.of());
            }
            default -> throw ApiError.invalid("response_format.type", "Invalid value '" + type + "' for 'response_format.type': expected 'text', 'json_object' or 'json_schema'.");
        };
    }

    /**
     * The Responses API's text.format (param names where it is): {"type": "text"}, {"type": "json_object"}, or
     * {"type": "json_schema", "name", "schema", "strict", "description"}, flat where chat nests them under json_schema.
     */
    static OutputFormat textFormat(JsonNode f, String param) {
        if (f == null || f.isNull()) return TEXT;
        if (!f.isObject()) throw RequestJson.wrongType(param, "an object", f);
        String type = f.path("type").asText("");
        return switch (type) {
            case "text" -> TEXT;
            case "json_object" -> new OutputFormat(JsonGrammar.anyObject(), false, List.of());
            case "json_schema" -> {
                JsonNode schema = f.get("schema");
                if (schema == null || !schema.isObject())
                    throw ApiError.invalid(param + ".schema", "missing_required_parameter", "Missing required parameter: '" + param + ".schema'.");
                yield new OutputFormat(schema(schema, param + ".schema"), false, List.of());
            }
            default -> throw ApiError.invalid(param + ".type", "Invalid value '" + type + "' for '" + param + ".type': expected 'text', 'json_object' or 'json_schema'.");
        };
    }

    private static OutputFormat tools(ObjectNode req) {
        JsonNode ts = req.get("tools"), choice = req.get("tool_choice");
        boolean none = ts == null || ts.isNull() || (ts.isArray() && ts.isEmpty());
        String mode = choice == null || choice.isNull() ? (none ? "none" : "auto") : choice.isTextual() ? choice.asText() : "function";
        if (!Set.of("none", "auto", "required", "function").contains(mode))
            throw ApiError.invalid("tool_choice", "Invalid value '" + mode + "' for 'tool_choice': expected 'none', 'auto', 'required' or a function.");
        if (none) {
            if (mode.equals("required") || mode.equals("function"))
                throw ApiError.invalid("tool_choice", "'tool_choice' asks for a tool call but the request has no 'tools'.");
            return TEXT;
        }
        if (!ts.isArray()) throw RequestJson.wrongType("tools", "an array", ts);
        Map<String, JsonNode> params = new LinkedHashMap<>();
        for (int i = 0; i < ts.size(); i++) {
            String at = "tools[" + i + "]";
            JsonNode t = ts.get(i);
            if (!t.isObject()) throw RequestJson.wrongType(at, "an object", t);
            if (!t.path("type").asText("").equals("function"))
                throw ApiError.invalid(at + ".type", "unsupported_parameter", "Only tools of type 'function' are supported by this server.");
            JsonNode f = t.get("function");
            if (f == null || !f.isObject()) throw ApiError.invalid(at + ".function", "missing_required_parameter", "Missing required parameter: '" + at + ".function'.");
            for (var it = f.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!FUNCTION_FIELDS.contains(k)) throw ApiError.invalid(at + ".function." + k, "unsupported_parameter", "'" + k + "' is not supported in a function definition.");
            }
            String name = f.path("name").asText("");
            if (!TOOL_NAME.matcher(name).matches())
                throw ApiError.invalid(at + ".function.name", "Invalid '" + at + ".function.name': letters, digits, '_' and '-' only, 1 to 64 of them.");
            JsonNode p = f.get("parameters");
            if (params.put(name, p == null || p.isNull() ? RequestJson.MAPPER.createObjectNode().put("type", "object") : p) != null)
                throw ApiError.invalid(at + ".function.name", "Duplicate tool name '" + name + "'.");
        }
        if (params.size() > 63) throw ApiError.invalid("tools", "At most 63 tools.");
        if (mode.equals("none")) return TEXT;
        if (mode.equals("function")) {
            String name = choice.path("function").path("name").asText("");
            if (!choice.path("type").asText("").equals("function") || !params.containsKey(name))
                throw ApiError.invalid("tool_choice", "'tool_choice' must name one of the request's tools: {\"type\": \"function\", \"function\": {\"name\": ...}}.");
            params = Map.of(name, params.get(name));
        }
        try {
            return new OutputFormat(JsonGrammar.toolCall(params), mode.equals("auto"), List.copyOf(params.keySet()));
        } catch (JsonGrammar.SchemaException e) {
            throw ApiError.invalid("tools", "unsupported_schema", "Unsupported tool parameters: " + e.getMessage());
        }
    }

    private static JsonGrammar schema(JsonNode schema, String param) {
        try {
            return JsonGrammar.schema(schema);
        } catch (JsonGrammar.SchemaException e) {
            throw ApiError.invalid(param, "unsupported_schema", "Unsupported schema: " + e.getMessage() + ".");
        }
    }

    private static final String CALL_HEAD = "{\"name\":\"", CALL_ARGS = "\",\"arguments\":";

    /** A tool call as the model writes it ({"name":"NAME","arguments":ARGS}): name and the arguments' JSON text, or null. */
    static String[] call(String text) {
        int at = argumentsAt(text);
        if (at < 0 || !text.endsWith("}")) return null;
        return new String[]{callName(text, at), text.substring(at, text.length() - 1)};
    }

    /** Where a call's arguments begin once its opening {"name":"NAME","arguments": is in text, else -1. */
    static int argumentsAt(CharSequence text) {
        String t = text.toString();
        int q = t.indexOf('"', CALL_HEAD.length());
        return t.startsWith(CALL_HEAD) && q >= 0 && t.startsWith(CALL_ARGS, q) ? q + CALL_ARGS.length() : -1;
    }

    /** The tool's name in a call whose arguments begin at argumentsAt. */
    static String callName(CharSequence text, int argumentsAt) {
        return text.subSequence(CALL_HEAD.length(), argumentsAt - CALL_ARGS.length()).toString();
    }
}
