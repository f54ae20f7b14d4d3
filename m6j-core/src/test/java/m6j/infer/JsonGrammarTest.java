package m6j.infer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The grammar alone, byte by byte: random walks through what it allows always end, within their byte budget, in
 * JSON that a real schema validator (networknt) accepts; known-bad texts are refused; unsupported keywords too.
 */
class JsonGrammarTest {
    static final ObjectMapper M = new ObjectMapper();
    static final String NESTED = """
            {"type": "object",
             "properties": {
               "name": {"type": "string", "minLength": 1, "maxLength": 12},
               "age": {"type": "integer"},
               "score": {"type": ["number", "null"]},
               "tags": {"type": "array", "items": {"enum": ["a", "b", 3, true]}, "minItems": 1, "maxItems": 3},
               "address": {"type": "object", "properties": {
                   "city": {"type": "string"}, "zip": {"type": "string", "maxLength": 5},
                   "geo": {"type": "array", "items": {"type": "number"}, "maxItems": 2}},
                 "required": ["city"], "additionalProperties": false},
               "kind": {"const": "person"},
               "extra": {}
             },
             "required": ["name", "address", "tags"],
             "additionalProperties": false}""";

    static JsonNode json(String s) {
        try { return M.readTree(s); } catch (Exception e) { throw new AssertionError(e); }
    }

    static Schema validator(String schema) {
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(json(schema));
    }

    /** A walk choosing uniformly among the bytes the state allows (and ending when allowed, with probability pEnd). */
    static String walk(JsonGrammar g, int budget, Random rnd, double pEnd) {
        JsonGrammar.Stack s = g.start();
        byte[] out = new byte[budget];
        int n = 0;
        while (!JsonGrammar.closed(s)) {
            if (JsonGrammar.accepting(s) && rnd.nextDouble() < pEnd) break;
            List<JsonGrammar.Stack> next = new ArrayList<>();
            List<Integer> bytes = new ArrayList<>();
            for (int b = 0; b < 256; b++) {
                JsonGrammar.Stack t = JsonGrammar.feed(s, b);
                if (t != null && JsonGrammar.minRemaining(t) <= budget - n - 1) { next.add(t); bytes.add(b); }
            }
            if (next.isEmpty()) {
                assertThat(JsonGrammar.accepting(s)).withFailMessage("stuck after %s (budget %d)", new String(out, 0, n, StandardCharsets.UTF_8), budget).isTrue();
                break;
            }
            int k = rnd.nextInt(next.size());
            out[n++] = (byte) (int) bytes.get(k);
            s = next.get(k);
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    @Test void randomOutputsParseAndValidateWithinTheirBudget() {
        JsonGrammar g = JsonGrammar.schema(json(NESTED));
        Schema v = validator(NESTED);
        Random rnd = new Random(7);
        for (int i = 0; i < 2000; i++) {
            int budget = g.minLength() + rnd.nextInt(120);
            String text = walk(g, budget, rnd, 0.5);
            assertThat(text.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(budget);
            JsonNode parsed = json(text);
            assertThat(v.validate(parsed)).as(text).isEmpty();
        }
    }

    @Test void theShortestOutputFitsTheMinimumExactly() {
        JsonGrammar g = JsonGrammar.schema(json(NESTED));
        String text = walk(g, g.minLength(), new Random(1), 1.0);
        assertThat(text.getBytes(StandardCharsets.UTF_8)).hasSize(g.minLength());
        assertThat(validator(NESTED).validate(json(text))).isEmpty();
    }

    @Test void jsonObjectModeWritesObjectsOfAnyShape() {
        JsonGrammar g = JsonGrammar.anyObject();
        Random rnd = new Random(3);
        boolean nested = false;
        for (int i = 0; i < 1000; i++) {
            String text = walk(g, 2 + rnd.nextInt(80), rnd, 0.3);
            assertThat(json(text).isObject()).as(text).isTrue();
            nested |= text.indexOf('{', 1) > 0 || text.contains("[");
        }
        assertThat(nested).isTrue();
    }

    @Test void toolCallsNameATooAndCarryValidArguments() {
        String weather = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":10},\"unit\":{\"enum\":[\"c\",\"f\"]}},\"required\":[\"city\",\"unit\"]}";
        String time = "{\"type\":\"object\",\"properties\":{\"zone\":{\"type\":\"string\"}}}";
        JsonGrammar g = JsonGrammar.toolCall(Map.of("get_weather", json(weather), "get_time", json(time)));
        Random rnd = new Random(5);
        for (int i = 0; i < 500; i++) {
            JsonNode call = json(walk(g, g.minLength() + rnd.nextInt(60), rnd, 0.5));
            assertThat(call.size()).isEqualTo(2);
            String name = call.get("name").asText();
            assertThat(name).isIn("get_weather", "get_time");
            assertThat(validator(name.equals("get_weather") ? weather : time).validate(call.get("arguments"))).isEmpty();
        }
    }

    @Test void refusesWhatTheSchemaForbids() {
        JsonGrammar g = JsonGrammar.schema(json(NESTED));
        for (String bad : List.of(
                "{\"name\":\"x\",\"tags\":[\"a\"]}",                              // address missing before the close
                "{\"name\":\"\",",                                                 // name shorter than minLength
                "{\"name\":\"x\",\"name\"",                                        // a key twice
                "{\"nope\"",                                                       // undeclared key
                "{\"age\":1.5",                                                    // integer with a fraction
                "{\"age\":01",                                                     // leading zero
                "{\"tags\":[]",                                                    // fewer than minItems
                "{\"tags\":[\"a\",\"b\",3,true]",                                  // more than maxItems
                "{\"tags\":[\"c\"",                                                // not in the enum
                "{\"kind\":\"human\"",                                             // not the const
                "{\"name\":\"a\nb\"",                                              // raw control character
                "{\"name\":\"\\u0041\"",                                           // \\u escapes are not written
                " {",                                                              // whitespace
                "{\"age\":1,}")) {                                                 // trailing comma
            JsonGrammar.Stack s = JsonGrammar.feed(g.start(), bad.getBytes(StandardCharsets.UTF_8));
            boolean refused = s == null || (bad.endsWith("}") && !JsonGrammar.closed(s));
            assertThat(refused).as(bad).isTrue();
        }
        // an invalid UTF-8 continuation and an overlong encoding inside a string
        assertThat(JsonGrammar.feed(g.start(), new byte[]{'{', '"', 'n', 'a', 'm', 'e', '"', ':', '"', (byte) 0xC3, 'x'})).isNull();
        assertThat(JsonGrammar.feed(g.start(), new byte[]{'{', '"', 'n', 'a', 'm', 'e', '"', ':', '"', (byte) 0xC0})).isNull();
    }

    @Test void acceptsWhatTheSchemaAllows() {
        JsonGrammar g = JsonGrammar.schema(json(NESTED));
        String ok = "{\"tags\":[3,true],\"address\":{\"geo\":[-1.5e3,0],\"city\":\"Zürich\"},\"name\":\"Ann \\\"A\\\"\",\"score\":null,\"extra\":[{}]}";
        JsonGrammar.Stack s = JsonGrammar.feed(g.start(), ok.getBytes(StandardCharsets.UTF_8));
        assertThat(s).isNotNull();
        assertThat(JsonGrammar.closed(s)).isTrue();
        assertThat(validator(NESTED).validate(json(ok))).isEmpty();
        JsonGrammar n = JsonGrammar.schema(json("{\"type\":\"number\"}"));
        JsonGrammar.Stack t = JsonGrammar.feed(n.start(), "12.5".getBytes(StandardCharsets.UTF_8));
        assertThat(JsonGrammar.accepting(t)).isTrue();
        assertThat(JsonGrammar.closed(t)).isFalse();                        // a number may go on
    }

    @Test void refusesSchemasItCannotEnforceByName() {
        assertThatThrownBy(() -> JsonGrammar.schema(json("{\"type\":\"string\",\"pattern\":\"^a\"}"))).hasMessageContaining("'pattern'");
        assertThatThrownBy(() -> JsonGrammar.schema(json("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/x\"}}}")))
                .hasMessageContaining("'$ref'").hasMessageContaining("$.properties.a");
        assertThatThrownBy(() -> JsonGrammar.schema(json("{\"anyOf\":[{\"type\":\"object\"},{\"type\":\"object\",\"properties\":{}}]}")))
                .hasMessageContaining("same character");
        assertThatThrownBy(() -> JsonGrammar.schema(json("{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{}}")))
                .hasMessageContaining("'a'");
        assertThatThrownBy(() -> JsonGrammar.schema(json("{\"type\":\"string\",\"minLength\":3,\"maxLength\":2}"))).hasMessageContaining("minLength");
    }
}
