package m6j.infer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON under a schema as a byte-level pushdown automaton, for constrained decoding: the engine lets a row choose only
 * tokens whose bytes the automaton accepts ({@link TokenMask}), so the output always parses and validates. A state is
 * an immutable stack of frames (the value being written on top, its containers below), so trying a token costs a few
 * small objects and nothing to undo.
 *
 * <p>Every state knows the fewest bytes that complete it ({@link #minRemaining}); since every byte is a token of a
 * byte-level vocabulary, keeping that within the tokens left guarantees the value closes before the limit.
 *
 * <p>Output is compact (no whitespace between tokens). Strings use the escapes {@code \" \\ \/ \b \f \n \r \t} and raw
 * UTF-8 (well-formed; no {@code \}u escapes, so no lone surrogates). Supported schema keywords: type (one or a list),
 * properties, required, additionalProperties (only declared properties are written), items, minItems, maxItems,
 * minLength, maxLength, enum, const, anyOf (branches that start with different characters), and the annotations
 * title, description, default, examples, $schema, $id, $comment. Anything else is refused by name: ignoring a keyword
 * could produce output that does not validate.
 */
public final class JsonGrammar {
    /** Thrown for a schema this grammar cannot enforce; the message names the keyword and where it is. */
    public static final class SchemaException extends IllegalArgumentException {
        SchemaException(String m) { super(m); }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int MAX_ANY_DEPTH = 8, MAX_NUMBER = 18, MAX_SCHEMA_DEPTH = 32, MAX_PROPS = 64;
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema", "$id", "$comment");
    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties", "items", "minItems",
            "maxItems", "minLength", "maxLength", "enum", "const", "anyOf");

    private final Node root;

    private JsonGrammar(Node root) { this.root = root; }

    /** Any JSON object (OpenAI's json_object mode). */
    public static JsonGrammar anyObject() { return new JsonGrammar(new Obj(null, 0, 0)); }

    /** Values of a JSON schema; throws {@link SchemaException} for what it cannot enforce. */
    public static JsonGrammar schema(JsonNode schema) { return new JsonGrammar(compile(schema, "$", 0)); }

    /**
     * A call of one of the tools, as {"name":"NAME","arguments":ARGS} with ARGS valid under that tool's parameter
     * schema. Names must be plain ([A-Za-z0-9_-]), checked by the caller.
     */
    public static JsonGrammar toolCall(Map<String, JsonNode> parameters) {
        if (parameters.isEmpty() || parameters.size() > 63) throw new SchemaException("1 to 63 tools");
        Prop[] calls = new Prop[parameters.size()];
        int i = 0;
        for (var e : parameters.entrySet())
            calls[i++] = new Prop(bytes("{\"name\":" + encode(MAPPER.getNodeFactory().textNode(e.getKey())) + ",\"arguments\":"),
                    compile(e.getValue(), "tools[" + e.getKey() + "].parameters", 0));
        return new JsonGrammar(new Tools(calls));
    }

    /** The state before the first byte. */
    public Stack start() { return Stack.EMPTY.push(new Value(root)); }

    /** Fewest bytes any output takes. */
    public int minLength() { return root.min; }

    // ---- the automaton -----------------------------------------------------------------------------------------

    /** Frames from the innermost value out; {@link #EMPTY} once the value is complete. */
    public static final class Stack {
        public static final Stack EMPTY = new Stack(null, null, 0);
        final Frame top;
        final Stack rest;
        final int restMin;      // minRemaining of rest, kept so a state's is O(1)

        private Stack(Frame top, Stack rest, int restMin) {
            this.top = top;
            this.rest = rest;
            this.restMin = restMin;
        }

        Stack push(Frame f) { return new Stack(f, this, minRemaining(this)); }

        Stack replace(Frame f) { return new Stack(f, rest, restMin); }
    }

    /** The state after byte b (0..255), or null if b cannot come next. */
    public static Stack feed(Stack s, int b) {
        return s == Stack.EMPTY ? null : s.top.step(b, s);
    }

    /** The state after these bytes, or null. */
    public static Stack feed(Stack s, byte[] bytes) {
        for (int i = 0; s != null && i < bytes.length; i++) s = feed(s, bytes[i] & 0xFF);
        return s;
    }

    /** True when the output may end here (the value is complete). */
    public static boolean accepting(Stack s) { return s == Stack.EMPTY || (s.rest == Stack.EMPTY && s.top.complete()); }

    /** True when nothing may follow (the value is closed). */
    public static boolean closed(Stack s) { return s == Stack.EMPTY; }

    /** Fewest bytes that complete the value from s. */
    public static int minRemaining(Stack s) { return s == Stack.EMPTY ? 0 : s.top.min() + s.restMin; }

    private sealed interface Frame permits Value, Str, Num, Lit, ObjFrame, ArrFrame, ToolFrame {
        /** The stack after byte b with this frame on top of s, or null. */
        Stack step(int b, Stack s);

        /** Fewest bytes that complete this frame (its containers not counted). */
        int min();

        /** True when this frame's value may end here (numbers and literals that could also go on). */
        default boolean complete() { return false; }
    }

    /** A value of node expected; its first byte decides the frame. */
    private record Value(Node node) implements Frame {
        @Override public Stack step(int b, Stack s) { return node.begin(b, s.rest); }

        @Override public int min() { return node.min; }
    }

    /**
     * Inside a string: count characters so far; escape: after a backslash; pending: UTF-8 continuation bytes still
     * due, lo..hi the range of the next one.
     */
    private record Str(StrNode node, int count, boolean escape, int pending, int lo, int hi) implements Frame {
        @Override public Stack step(int b, Stack s) {
            if (escape) return "\"\\/bfnrt".indexOf(b) >= 0 ? s.replace(new Str(node, count, false, 0, 0, 0)) : null;
            if (pending > 0) {
                if (b < lo || b > hi) return null;
                return s.replace(new Str(node, count, false, pending - 1, 0x80, 0xBF));
            }
            if (b == '"') return count >= node.minLen ? s.rest : null;
            if (b < 0x20 || count >= node.maxLen) return null;
            if (b == '\\') return s.replace(new Str(node, count + 1, true, 0, 0, 0));
            if (b < 0x80) return s.replace(new Str(node, count + 1, false, 0, 0, 0));
            // A lead byte, with the range of the byte after it (no overlongs, surrogates or code points past U+10FFFF).
            if (b >= 0xC2 && b <= 0xDF) return s.replace(new Str(node, count + 1, false, 1, 0x80, 0xBF));
            if (b >= 0xE0 && b <= 0xEF) return s.replace(new Str(node, count + 1, false, 2, b == 0xE0 ? 0xA0 : 0x80, b == 0xED ? 0x9F : 0xBF));
            // Four-byte characters count as one code point but two UTF-16 units: allowed only where length is free.
            if (b >= 0xF0 && b <= 0xF4 && node.minLen == 0 && node.maxLen == Integer.MAX_VALUE)
                return s.replace(new Str(node, count + 1, false, 3, b == 0xF0 ? 0x90 : 0x80, b == 0xF4 ? 0x8F : 0xBF));
            return null;
        }

        @Override public int min() { return (escape ? 1 : 0) + pending + Math.max(0, node.minLen - count) + 1; }
    }

    private record Num(boolean integer, int phase, int length) implements Frame {
        // phases: 0 start, 1 after '-', 2 after a leading 0, 3 integer digits, 4 after '.', 5 fraction digits,
        // 6 after 'e', 7 after the exponent's sign, 8 exponent digits; 2, 3, 5, 8 are complete

        @Override public Stack step(int b, Stack s) {
            int next = length < MAX_NUMBER || !complete() ? next(b) : -1;     // long numbers end, begun parts finish
            if (next >= 0) return s.replace(new Num(integer, next, length + 1));
            return complete() ? feed(s.rest, b) : null;     // the number ended; b belongs to its container
        }

        private int next(int b) {
            boolean digit = b >= '0' && b <= '9';
            boolean exp = !integer && (b == 'e' || b == 'E');
            return switch (phase) {
                case 0 -> b == '-' ? 1 : b == '0' ? 2 : digit ? 3 : -1;
                case 1 -> b == '0' ? 2 : digit ? 3 : -1;
                case 2 -> !integer && b == '.' ? 4 : exp ? 6 : -1;
                case 3 -> digit ? 3 : !integer && b == '.' ? 4 : exp ? 6 : -1;
                case 4 -> digit ? 5 : -1;
                case 5 -> digit ? 5 : exp ? 6 : -1;
                case 6 -> b == '+' || b == '-' ? 7 : digit ? 8 : -1;
                case 7, 8 -> digit ? 8 : -1;
                default -> -1;
            };
        }

        @Override public int min() { return complete() ? 0 : 1; }

        @Override public boolean complete() { return phase == 2 || phase == 3 || phase == 5 || phase == 8; }
    }

    /** One of fixed byte strings (enum, const, true/false/null), pos bytes matched. */
    private record Lit(byte[][] alts, int pos) implements Frame {
        @Override public Stack step(int b, Stack s) {
            List<byte[]> keep = new ArrayList<>(alts.length);
            boolean longer = false;
            for (byte[] a : alts)
                if (a.length > pos && (a[pos] & 0xFF) == b) {
                    keep.add(a);
                    longer |= a.length > pos + 1;
                }
            if (keep.isEmpty()) return complete() ? feed(s.rest, b) : null;
            if (!longer) return s.rest;                   // matched in full and nothing longer: done
            return s.replace(new Lit(keep.toArray(new byte[0][]), pos + 1));
        }

        @Override public int min() {
            int m = Integer.MAX_VALUE;
            for (byte[] a : alts) m = Math.min(m, a.length - pos);
            return m;
        }

        @Override public boolean complete() {
            for (byte[] a : alts) if (a.length == pos) return true;
            return false;
        }
    }

    /**
     * An object. With declared properties: keys matched byte by byte against the unused ones (cand), each at most once,
     * all required ones before the close. Free (json_object): any string keys, values of any kind.
     */
    private record ObjFrame(Obj node, int phase, long used, int keyPos, long cand, int key) implements Frame {
        static final int OPEN = 0, KEY = 1, COLON = 2, AFTER_VALUE = 3, AFTER_COMMA = 4;

        @Override public Stack step(int b, Stack s) {
            if (node.props == null) return free(b, s);
            Prop[] p = node.props;
            switch (phase) {
                case OPEN, AFTER_COMMA, KEY -> {
                    if (phase == OPEN && b == '}') return (node.required & ~used) == 0 ? s.rest : null;
                    int pos = phase == KEY ? keyPos : 0;
                    long keep = matching(p, phase == KEY ? cand : node.all & ~used, pos, b);
                    if (keep == 0) return null;
                    int one = matched(p, keep, pos);
                    if (one >= 0) return s.replace(new ObjFrame(node, COLON, used | 1L << one, 0, 0, one));
                    return s.replace(new ObjFrame(node, KEY, used, pos + 1, keep, -1));
                }
                case COLON -> {
                    if (b != ':') return null;
                    return s.replace(new ObjFrame(node, AFTER_VALUE, used, 0, 0, -1)).push(new Value(p[key].value));
                }
                default -> {     // AFTER_VALUE
                    if (b == ',') return (node.all & ~used) != 0 ? s.replace(new ObjFrame(node, AFTER_COMMA, used, 0, 0, -1)) : null;
                    if (b == '}') return (node.required & ~used) == 0 ? s.rest : null;
                    return null;
                }
            }
        }

        private Stack free(int b, Stack s) {
            return switch (phase) {
                case OPEN, AFTER_COMMA -> b == '"' ? s.replace(new ObjFrame(node, COLON, 0, 0, 0, -1)).push(new Str(StrNode.FREE, 0, false, 0, 0, 0))
                        : phase == OPEN && b == '}' ? s.rest : null;
                case COLON -> b == ':' ? s.replace(new ObjFrame(node, AFTER_VALUE, 0, 0, 0, -1)).push(new Value(new Any(node.depth + 1))) : null;
                default -> b == ',' ? s.replace(new ObjFrame(node, AFTER_COMMA, 0, 0, 0, -1)) : b == '}' ? s.rest : null;
            };
        }

        @Override public int min() {
            if (node.props == null) return switch (phase) {
                case OPEN, AFTER_VALUE -> 1;
                case COLON -> 1 + Any.MIN + 1;
                default -> 2 + 1 + Any.MIN + 1;      // AFTER_COMMA: "":0}
            };
            return switch (phase) {
                case OPEN -> node.rest(used, true);
                case COLON -> 1 + node.props[key].value.min + node.rest(used, false);
                case AFTER_VALUE -> node.rest(used, false);
                default -> {     // KEY, AFTER_COMMA: the cheapest candidate key, its value, then the rest
                    long c = phase == KEY ? cand : node.all & ~used;
                    int pos = phase == KEY ? keyPos : 0, m = Integer.MAX_VALUE;
                    for (int i = 0; i < node.props.length; i++)
                        if ((c >>> i & 1) != 0) {
                            Prop p = node.props[i];
                            m = Math.min(m, p.key.length - pos + 1 + p.value.min + node.rest(used | 1L << i, false));
                        }
                    yield m;
                }
            };
        }
    }

    private record ArrFrame(Arr node, int phase, int count) implements Frame {
        static final int OPEN = 0, AFTER_VALUE = 1, AFTER_COMMA = 2;

        @Override public Stack step(int b, Stack s) {
            if (phase == AFTER_VALUE) {
                if (b == ',') return count < node.maxItems ? s.replace(new ArrFrame(node, AFTER_COMMA, count)) : null;
                return b == ']' && count >= node.minItems ? s.rest : null;
            }
            if (phase == OPEN && b == ']') return node.minItems == 0 ? s.rest : null;
            if (node.maxItems == 0) return null;
            return node.items.begin(b, s.replace(new ArrFrame(node, AFTER_VALUE, count + 1)));
        }

        @Override public int min() {
            int item = node.items.min;
            return switch (phase) {
                case OPEN -> node.minItems == 0 ? 1 : node.minItems * (item + 1);
                case AFTER_VALUE -> Math.max(0, node.minItems - count) * (item + 1) + 1;
                default -> item + Math.max(0, node.minItems - count - 1) * (item + 1) + 1;
            };
        }
    }

    /**
     * {"name":"NAME","arguments": matched against the tools' openings, then the arguments, then '}'. cand: the tools
     * whose opening still matches after pos bytes; -1 once the arguments are written (only '}' is left).
     */
    private record ToolFrame(Tools node, int pos, long cand) implements Frame {
        @Override public Stack step(int b, Stack s) {
            if (cand == -1) return b == '}' ? s.rest : null;
            long keep = matching(node.calls, cand, pos, b);
            if (keep == 0) return null;
            int one = matched(node.calls, keep, pos);
            if (one >= 0) return s.replace(new ToolFrame(node, 0, -1)).push(new Value(node.calls[one].value));
            return s.replace(new ToolFrame(node, pos + 1, keep));
        }

        @Override public int min() {
            if (cand == -1) return 1;
            int m = Integer.MAX_VALUE;
            for (int i = 0; i < node.calls.length; i++)
                if ((cand >>> i & 1) != 0) m = Math.min(m, node.calls[i].key.length - pos + node.calls[i].value.min + 1);
            return m;
        }
    }

    // ---- schema nodes: what a value may be, and the fewest bytes it takes ----------------------------------------

    private abstract static class Node {
        final int min;

        Node(int min) { this.min = min; }

        /** The stack after b as this value's first byte, on top of rest; null if a value of this node cannot start so. */
        abstract Stack begin(int b, Stack rest);

        /** Bytes a value of this node may start with. */
        abstract boolean mayStart(int b);
    }

    /** A byte string matched byte by byte (an object's key with its quotes, a tool call's opening), then a value. */
    private record Prop(byte[] key, Node value) {}

    /** Of the candidates (bit i for ps[i]), those whose key has byte b at pos. */
    private static long matching(Prop[] ps, long cand, int pos, int b) {
        long keep = 0;
        for (int i = 0; i < ps.length; i++)
            if ((cand >>> i & 1) != 0 && (ps[i].key[pos] & 0xFF) == b) keep |= 1L << i;
        return keep;
    }

    /** The one candidate in keep whose key ends at pos, or -1 (keys are prefix-free: none ends while another goes on). */
    private static int matched(Prop[] ps, long keep, int pos) {
        int one = Long.numberOfTrailingZeros(keep);
        return Long.bitCount(keep) == 1 && ps[one].key.length == pos + 1 ? one : -1;
    }

    private static final class Obj extends Node {
        final Prop[] props;     // null: free keys and values (json_object)
        final long required, all;
        final int depth;

        Obj(Prop[] props, long required, int depth) {
            super(props == null ? 2 : 2 + restFirst(props, required));
            this.props = props;
            this.required = required;
            this.all = props == null ? 0 : props.length == 64 ? -1L : (1L << props.length) - 1;
            this.depth = depth;
        }

        private static int restFirst(Prop[] props, long required) {
            int n = 0, sum = 0;
            for (int i = 0; i < props.length; i++)
                if ((required >>> i & 1) != 0) { n++; sum += props[i].key.length + 1 + props[i].value.min; }
            return sum + Math.max(0, n - 1);
        }

        /** Bytes that close the object once `used` keys are written: the missing required pairs, commas and '}'. */
        int rest(long used, boolean first) {
            long missing = required & ~used;
            int n = 0, sum = 0;
            for (int i = 0; i < props.length; i++)
                if ((missing >>> i & 1) != 0) { n++; sum += props[i].key.length + 1 + props[i].value.min; }
            return sum + (first ? Math.max(0, n - 1) : n) + 1;
        }

        @Override Stack begin(int b, Stack rest) { return b == '{' ? rest.push(new ObjFrame(this, ObjFrame.OPEN, 0, 0, 0, -1)) : null; }

        @Override boolean mayStart(int b) { return b == '{'; }
    }

    private static final class Arr extends Node {
        final Node items;
        final int minItems, maxItems;

        Arr(Node items, int minItems, int maxItems) {
            super(2 + minItems * items.min + Math.max(0, minItems - 1));
            this.items = items;
            this.minItems = minItems;
            this.maxItems = maxItems;
        }

        @Override Stack begin(int b, Stack rest) { return b == '[' ? rest.push(new ArrFrame(this, ArrFrame.OPEN, 0)) : null; }

        @Override boolean mayStart(int b) { return b == '['; }
    }

    private static final class StrNode extends Node {
        static final StrNode FREE = new StrNode(0, Integer.MAX_VALUE);
        final int minLen, maxLen;

        StrNode(int minLen, int maxLen) {
            super(2 + minLen);
            this.minLen = minLen;
            this.maxLen = maxLen;
        }

        @Override Stack begin(int b, Stack rest) { return b == '"' ? rest.push(new Str(this, 0, false, 0, 0, 0)) : null; }

        @Override boolean mayStart(int b) { return b == '"'; }
    }

    private static final class NumNode extends Node {
        final boolean integer;

        NumNode(boolean integer) {
            super(1);
            this.integer = integer;
        }

        @Override Stack begin(int b, Stack rest) {
            Stack s = rest.push(new Num(integer, 0, 0));
            return s.top.step(b, s);
        }

        @Override boolean mayStart(int b) { return b == '-' || (b >= '0' && b <= '9'); }
    }

    private static final class LitNode extends Node {
        final byte[][] alts;

        LitNode(byte[][] alts) {
            super(shortest(alts));
            this.alts = alts;
        }

        private static int shortest(byte[][] alts) {
            int m = Integer.MAX_VALUE;
            for (byte[] a : alts) m = Math.min(m, a.length);
            return m;
        }

        @Override Stack begin(int b, Stack rest) {
            Stack s = rest.push(new Lit(alts, 0));
            return s.top.step(b, s);
        }

        @Override boolean mayStart(int b) {
            for (byte[] a : alts) if ((a[0] & 0xFF) == b) return true;
            return false;
        }
    }

    /** Any JSON value; containers only up to a nesting depth, so a free value always has a way to close. */
    private static final class Any extends Node {
        static final int MIN = 1;
        private static final LitNode WORDS = new LitNode(new byte[][]{bytes("true"), bytes("false"), bytes("null")});
        private static final NumNode NUMBER = new NumNode(false);
        final int depth;

        Any(int depth) {
            super(MIN);
            this.depth = depth;
        }

        @Override Stack begin(int b, Stack rest) {
            if (b == '{' || b == '[') {
                if (depth >= MAX_ANY_DEPTH) return null;
                return b == '{' ? new Obj(null, 0, depth).begin(b, rest) : new Arr(new Any(depth + 1), 0, Integer.MAX_VALUE).begin(b, rest);
            }
            if (b == '"') return StrNode.FREE.begin(b, rest);
            if (NUMBER.mayStart(b)) return NUMBER.begin(b, rest);
            return WORDS.begin(b, rest);
        }

        @Override boolean mayStart(int b) { return b == '{' || b == '[' || b == '"' || NUMBER.mayStart(b) || WORDS.mayStart(b); }
    }

    /** One of several nodes that start with different bytes, so the first byte picks the branch. */
    private static final class Union extends Node {
        final Node[] branches;

        Union(Node[] branches) {
            super(minOf(branches));
            this.branches = branches;
        }

        private static int minOf(Node[] ns) {
            int m = Integer.MAX_VALUE;
            for (Node n : ns) m = Math.min(m, n.min);
            return m;
        }

        @Override Stack begin(int b, Stack rest) {
            for (Node n : branches) if (n.mayStart(b)) return n.begin(b, rest);
            return null;
        }

        @Override boolean mayStart(int b) {
            for (Node n : branches) if (n.mayStart(b)) return true;
            return false;
        }
    }

    /** Tool calls: each tool's opening {"name":"NAME","arguments": with its parameters' node. */
    private static final class Tools extends Node {
        final Prop[] calls;

        Tools(Prop[] calls) {
            super(minOf(calls));
            this.calls = calls;
        }

        private static int minOf(Prop[] calls) {
            int m = Integer.MAX_VALUE;
            for (Prop c : calls) m = Math.min(m, c.key.length + c.value.min + 1);
            return m;
        }

        @Override Stack begin(int b, Stack rest) {
            Stack s = rest.push(new ToolFrame(this, 0, (1L << calls.length) - 1));
            return s.top.step(b, s);
        }

        @Override boolean mayStart(int b) { return b == '{'; }
    }

    // ---- schema to nodes ----------------------------------------------------------------------------------------

    private static Node compile(JsonNode schema, String at, int depth) {
        if (depth > MAX_SCHEMA_DEPTH) throw new SchemaException("schema nested deeper than " + MAX_SCHEMA_DEPTH + " at " + at);
        if (schema == null || (schema.isBoolean() && schema.asBoolean())) return new Any(depth);
        if (!schema.isObject()) throw new SchemaException("a schema must be an object at " + at);
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYWORDS.contains(k) && !ANNOTATIONS.contains(k))
                throw new SchemaException("unsupported schema keyword '" + k + "' at " + at);
        }
        if (schema.has("const")) return new LitNode(new byte[][]{encodeBytes(schema.get("const"))});
        if (schema.has("enum")) {
            JsonNode e = schema.get("enum");
            if (!e.isArray() || e.isEmpty()) throw new SchemaException("'enum' must be a non-empty array at " + at);
            byte[][] alts = new byte[e.size()][];
            for (int i = 0; i < alts.length; i++) alts[i] = encodeBytes(e.get(i));
            return new LitNode(alts);
        }
        if (schema.has("anyOf")) {
            JsonNode a = schema.get("anyOf");
            if (!a.isArray() || a.isEmpty()) throw new SchemaException("'anyOf' must be a non-empty array at " + at);
            if (schema.size() > 1 + countAnnotations(schema)) throw new SchemaException("'anyOf' beside other keywords is not supported at " + at);
            List<Node> ns = new ArrayList<>();
            for (int i = 0; i < a.size(); i++) ns.add(compile(a.get(i), at + ".anyOf[" + i + "]", depth + 1));
            return union(ns, at);
        }
        JsonNode type = schema.get("type");
        List<String> types = new ArrayList<>();
        if (type == null) {
            if (schema.has("properties") || schema.has("required") || schema.has("additionalProperties")) types.add("object");
            else if (schema.has("items") || schema.has("minItems") || schema.has("maxItems")) types.add("array");
            else if (schema.has("minLength") || schema.has("maxLength")) types.add("string");
            else return new Any(depth);
        } else if (type.isTextual()) types.add(type.asText());
        else if (type.isArray() && !type.isEmpty()) for (JsonNode t : type) types.add(t.asText());
        else throw new SchemaException("'type' must be a string or a non-empty array at " + at);
        if (types.contains("integer") && types.contains("number")) types.remove("integer");
        List<Node> ns = new ArrayList<>();
        for (String t : types) ns.add(typed(t, schema, at, depth));
        return ns.size() == 1 ? ns.get(0) : union(ns, at);
    }

    private static Node typed(String type, JsonNode s, String at, int depth) {
        return switch (type) {
            case "object" -> object(s, at, depth);
            case "array" -> {
                int min = count(s, "minItems", 0, at), max = count(s, "maxItems", Integer.MAX_VALUE, at);
                if (min > max) throw new SchemaException("minItems > maxItems at " + at);
                JsonNode items = s.get("items");
                if (items != null && items.isArray()) throw new SchemaException("tuple 'items' (an array) is not supported at " + at);
                yield new Arr(compile(items, at + ".items", depth + 1), min, max);
            }
            case "string" -> {
                int min = count(s, "minLength", 0, at), max = count(s, "maxLength", Integer.MAX_VALUE, at);
                if (min > max) throw new SchemaException("minLength > maxLength at " + at);
                yield new StrNode(min, max);
            }
            case "integer" -> new NumNode(true);
            case "number" -> new NumNode(false);
            case "boolean" -> new LitNode(new byte[][]{bytes("true"), bytes("false")});
            case "null" -> new LitNode(new byte[][]{bytes("null")});
            default -> throw new SchemaException("unknown type '" + type + "' at " + at);
        };
    }

    private static Node object(JsonNode s, String at, int depth) {
        JsonNode props = s.get("properties");
        JsonNode add = s.get("additionalProperties");
        if (add != null && !add.isBoolean() && !add.isObject()) throw new SchemaException("'additionalProperties' must be a boolean or a schema at " + at);
        Map<String, Integer> index = new LinkedHashMap<>();
        List<Prop> ps = new ArrayList<>();
        if (props != null) {
            if (!props.isObject()) throw new SchemaException("'properties' must be an object at " + at);
            if (props.size() > MAX_PROPS) throw new SchemaException("more than " + MAX_PROPS + " properties at " + at);
            for (var it = props.fields(); it.hasNext(); ) {
                var e = it.next();
                index.put(e.getKey(), ps.size());
                ps.add(new Prop(encodeBytes(MAPPER.getNodeFactory().textNode(e.getKey())), compile(e.getValue(), at + ".properties." + e.getKey(), depth + 1)));
            }
        }
        long required = 0;
        JsonNode req = s.get("required");
        if (req != null) {
            if (!req.isArray()) throw new SchemaException("'required' must be an array at " + at);
            for (JsonNode r : req) {
                Integer i = index.get(r.asText());
                if (i == null) throw new SchemaException("required property '" + r.asText() + "' is not in 'properties' at " + at);
                required |= 1L << i;
            }
        }
        // Only declared properties are written, so the output is valid whatever additionalProperties says; with none
        // declared and none forbidden, any object (json_object's free keys) is what the schema allows.
        if (props == null && !(add != null && add.isBoolean() && !add.asBoolean())) return new Obj(null, 0, depth);
        return new Obj(ps.toArray(new Prop[0]), required, depth);
    }

    private static Node union(List<Node> ns, String at) {
        List<byte[]> lits = new ArrayList<>();
        List<Node> rest = new ArrayList<>();
        for (Node n : ns) {
            if (n instanceof LitNode l) lits.addAll(List.of(l.alts));
            else if (n instanceof Union u) rest.addAll(List.of(u.branches));
            else rest.add(n);
        }
        if (!lits.isEmpty()) rest.add(new LitNode(lits.toArray(new byte[0][])));
        for (int b = 0; b < 256; b++) {
            int n = 0;
            for (Node x : rest) if (x.mayStart(b)) n++;
            if (n > 1) throw new SchemaException("anyOf/type branches that can start with the same character ('" + (char) b
                    + "') are not supported at " + at);
        }
        return rest.size() == 1 ? rest.get(0) : new Union(rest.toArray(new Node[0]));
    }

    private static int count(JsonNode s, String k, int dflt, String at) {
        JsonNode n = s.get(k);
        if (n == null) return dflt;
        if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < 0) throw new SchemaException("'" + k + "' must be a non-negative integer at " + at);
        return n.asInt();
    }

    private static int countAnnotations(JsonNode s) {
        int n = 0;
        for (String a : ANNOTATIONS) if (s.has(a)) n++;
        return n;
    }

    private static String encode(JsonNode v) {
        try {
            return MAPPER.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new SchemaException(e.getMessage());
        }
    }

    private static byte[] encodeBytes(JsonNode v) { return encode(v).getBytes(StandardCharsets.UTF_8); }

    private static byte[] bytes(String s) { return s.getBytes(StandardCharsets.UTF_8); }
}
