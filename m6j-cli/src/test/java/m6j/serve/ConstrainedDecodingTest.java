package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import m6j.checkpoint.Checkpoint;
import m6j.infer.Engine;
import m6j.infer.Event;
import m6j.infer.JsonGrammar;
import m6j.infer.Request;
import m6j.infer.Sampling;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * JSON mode, JSON schemas and tool calls through constrained decoding on the real test model, and log-probabilities:
 * sampled hot (temperature 1.5) a small model writes anything, so every output parsing and validating is the grammar's
 * doing. Validation by networknt's JSON Schema validator.
 */
class ConstrainedDecodingTest {
    static final String SCHEMA = "{\"type\":\"object\",\"properties\":{"
            + "\"name\":{\"type\":\"string\",\"maxLength\":10},\"age\":{\"type\":\"integer\"},"
            + "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\",7]},\"maxItems\":3},"
            + "\"home\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":8},\"ok\":{\"type\":\"boolean\"},"
            + "\"at\":{\"type\":[\"number\",\"null\"]}},\"required\":[\"city\"],\"additionalProperties\":false}},"
            + "\"required\":[\"name\",\"home\"],\"additionalProperties\":false}";
    static final String WEATHER = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":8},"
            + "\"unit\":{\"enum\":[\"c\",\"f\"]}},\"required\":[\"city\",\"unit\"]}";
    static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"weather\",\"description\":\"Weather in a city\",\"parameters\":" + WEATHER + "}},"
            + "{\"type\":\"function\",\"function\":{\"name\":\"time\",\"parameters\":{\"type\":\"object\",\"properties\":{\"zone\":{\"type\":\"string\",\"maxLength\":6}}}}}]";

    @BeforeAll static void start() throws Exception { ServeFixture.server(); }

    static Schema schema(String s) throws Exception {
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(RequestJson.MAPPER.readTree(s));
    }

    static JsonNode ok(String body) throws Exception {
        HttpResponse<String> r = BadInputTest.post("/v1/chat/completions", body, ServeFixture.KEY);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return RequestJson.MAPPER.readTree(r.body());
    }

    static String chat(String extra) {
        return "{\"model\":\"m6j-test\",\"temperature\":1.5,\"messages\":[{\"role\":\"user\",\"content\":\"JSON:\"}]," + extra + "}";
    }

    @Test void thousandHotSamplesUnderANestedSchemaAllParseAndValidate() throws Exception {
        Checkpoint.Loaded l = ServeFixture.model();
        Schema v = schema(SCHEMA);
        JsonGrammar g = JsonGrammar.schema(RequestJson.MAPPER.readTree(SCHEMA));
        Set<String> distinct = new HashSet<>();
        try (Engine e = new Engine(l.model(), l.tokenizer(), new Engine.Options(32, 64, 600_000), Engine.Stats.NONE)) {
            int[] prompt = e.prompt("A person as JSON:");
            for (int from = 0; from < 1000; from += 50) {
                List<Request> rs = new ArrayList<>();
                for (int i = 0; i < 50; i++)
                    rs.add(Request.text(from + i, prompt, null, 96, new Sampling(1.5, 0, 1, 1000L + from + i)).constrain(g, false));
                for (Event.Done d : e.run(rs)) {
                    JsonNode out = RequestJson.MAPPER.readTree(d.text());
                    assertThat(v.validate(out)).as(d.text()).isEmpty();
                    assertThat(d.finish()).as(d.text()).isEqualTo("stop");
                    distinct.add(d.text());
                }
            }
        }
        assertThat(distinct.size()).as("sampled, not one fixed answer").isGreaterThan(900);
    }

    @Test void jsonSchemaAndJsonObjectModesOverHttp() throws Exception {
        Schema v = schema(SCHEMA);
        JsonNode r = ok(chat("\"n\":4,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"person\",\"strict\":true,\"schema\":" + SCHEMA + "}}"));
        for (JsonNode c : r.get("choices")) {
            String text = c.at("/message/content").asText();
            assertThat(v.validate(RequestJson.MAPPER.readTree(text))).as(text).isEmpty();
            assertThat(c.get("finish_reason").asText()).isEqualTo("stop");
        }
        JsonNode o = ok(chat("\"max_tokens\":40,\"response_format\":{\"type\":\"json_object\"}"));
        String text = o.at("/choices/0/message/content").asText();
        assertThat(RequestJson.MAPPER.readTree(text).isObject()).as(text).isTrue();
        assertThat(o.at("/usage/completion_tokens").asInt()).isLessThanOrEqualTo(40);
    }

    @Test void requiredToolCallsNameAToolWithValidArguments() throws Exception {
        Schema weather = schema(WEATHER);
        JsonNode r = ok(chat("\"n\":4,\"tools\":" + TOOLS + ",\"tool_choice\":\"required\""));
        for (JsonNode c : r.get("choices")) {
            assertThat(c.get("finish_reason").asText()).isEqualTo("tool_calls");
            assertThat(c.at("/message/content").isNull()).isTrue();
            JsonNode call = c.at("/message/tool_calls/0");
            assertThat(call.get("id").asText()).startsWith("call_");
            assertThat(call.get("type").asText()).isEqualTo("function");
            String name = call.at("/function/name").asText();
            JsonNode args = RequestJson.MAPPER.readTree(call.at("/function/arguments").asText());
            assertThat(name).isIn("weather", "time");
            if (name.equals("weather")) assertThat(weather.validate(args)).as(args.toString()).isEmpty();
            else assertThat(args.isObject()).isTrue();
        }
        JsonNode named = ok(chat("\"tools\":" + TOOLS + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"weather\"}}"));
        assertThat(named.at("/choices/0/message/tool_calls/0/function/name").asText()).isEqualTo("weather");
    }

    @Test void autoToolChoiceAnswersInTextOrWithAValidCall() throws Exception {
        for (int seed = 0; seed < 6; seed++) {
            JsonNode c = ok(chat("\"seed\":" + seed + ",\"max_tokens\":60,\"tools\":" + TOOLS)).at("/choices/0");
            if (c.get("finish_reason").asText().equals("tool_calls"))
                RequestJson.MAPPER.readTree(c.at("/message/tool_calls/0/function/arguments").asText());
            else assertThat(c.at("/message/content").asText()).doesNotStartWith("{");
        }
    }

    @Test void streamedToolCallsArriveAsDeltasTheSdksAssemble() throws Exception {
        HttpResponse<String> r = BadInputTest.post("/v1/chat/completions", chat("\"stream\":true,\"tools\":" + TOOLS + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"weather\"}}"), ServeFixture.KEY);
        assertThat(r.statusCode()).isEqualTo(200);
        StringBuilder args = new StringBuilder();
        String id = null, name = null, finish = null;
        int argChunks = 0;
        for (String line : r.body().split("\n")) {
            if (!line.startsWith("data: {")) continue;
            JsonNode c = RequestJson.MAPPER.readTree(line.substring(6)).at("/choices/0");
            if (c.hasNonNull("finish_reason")) finish = c.get("finish_reason").asText();
            JsonNode tc = c.at("/delta/tool_calls/0");
            if (tc.isMissingNode()) continue;
            assertThat(tc.get("index").asInt()).isZero();
            if (tc.hasNonNull("id")) {
                assertThat(id).as("one first delta").isNull();
                id = tc.get("id").asText();
                name = tc.at("/function/name").asText();
            } else {
                assertThat(id).as("the id and name come first").isNotNull();
                argChunks++;
            }
            args.append(tc.at("/function/arguments").asText());
        }
        assertThat(name).isEqualTo("weather");
        assertThat(finish).isEqualTo("tool_calls");
        assertThat(argChunks).as("arguments split across chunks").isGreaterThan(1);
        assertThat(schema(WEATHER).validate(RequestJson.MAPPER.readTree(args.toString()))).as(args.toString()).isEmpty();
    }

    @Test void whatTheGrammarCannotDoIsRefusedClearly() throws Exception {
        JsonNode e = BadInputTest.bad("/v1/chat/completions", chat("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":"
                + "{\"type\":\"string\",\"pattern\":\"^a+$\"}}}"), 400, "unsupported_schema");
        assertThat(e.get("message").asText()).contains("pattern");
        BadInputTest.bad("/v1/chat/completions", chat("\"max_tokens\":5,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":" + SCHEMA + "}}"), 400, "invalid_value");
        BadInputTest.bad("/v1/chat/completions", chat("\"tool_choice\":\"required\""), 400, "invalid_value");
        BadInputTest.bad("/v1/chat/completions", chat("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bad name\"}}]"), 400, "invalid_value");
        BadInputTest.bad("/v1/chat/completions", chat("\"tools\":" + TOOLS + ",\"response_format\":{\"type\":\"json_object\"}"), 400, "unsupported_parameter");
    }

    @Test void logprobsOnChatAndCompletions() throws Exception {
        JsonNode r = ok("{\"model\":\"m6j-test\",\"temperature\":0,\"max_tokens\":8,\"logprobs\":true,\"top_logprobs\":3,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Once upon\"}]}");
        JsonNode content = r.at("/choices/0/logprobs/content");
        assertThat(content.size()).isEqualTo(r.at("/usage/completion_tokens").asInt());
        for (JsonNode t : content) {
            JsonNode top = t.get("top_logprobs");
            assertThat(top.size()).isEqualTo(3);
            assertThat(t.get("logprob").asDouble()).isLessThanOrEqualTo(0);
            assertThat(top.get(0).get("logprob").asDouble()).isGreaterThanOrEqualTo(top.get(1).get("logprob").asDouble());
            assertThat(t.get("token").asText()).as("greedy: the chosen token is the most likely").isEqualTo(top.get(0).get("token").asText());
            assertThat(t.get("logprob").asDouble()).isCloseTo(top.get(0).get("logprob").asDouble(), org.assertj.core.data.Offset.offset(1e-6));
            assertThat(t.get("bytes").isArray()).isTrue();
        }
        JsonNode c = RequestJson.MAPPER.readTree(BadInputTest.post("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"max_tokens\":6,\"temperature\":1,\"seed\":2,\"logprobs\":2}", ServeFixture.KEY).body());
        JsonNode lp = c.at("/choices/0/logprobs");
        int n = c.at("/usage/completion_tokens").asInt();
        assertThat(lp.get("tokens").size()).isEqualTo(n);
        assertThat(lp.get("token_logprobs").size()).isEqualTo(n);
        assertThat(lp.get("text_offset").size()).isEqualTo(n);
        for (JsonNode alt : lp.get("top_logprobs")) assertThat(alt.size()).isBetween(1, 2);
        BadInputTest.bad("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"logprobs\":true}", 400, "invalid_type");
        BadInputTest.bad("/v1/chat/completions", "{\"model\":\"m6j-test\",\"top_logprobs\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "invalid_value");
        // streamed: one entry per token across the chunks
        HttpResponse<String> s = BadInputTest.post("/v1/chat/completions", "{\"model\":\"m6j-test\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"max_tokens\":10,\"seed\":4,\"logprobs\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Once\"}]}", ServeFixture.KEY);
        int entries = 0, tokens = -1;
        for (String line : s.body().split("\n")) {
            if (!line.startsWith("data: {")) continue;
            JsonNode chunk = RequestJson.MAPPER.readTree(line.substring(6));
            if (chunk.hasNonNull("usage")) tokens = chunk.at("/usage/completion_tokens").asInt();
            JsonNode lc = chunk.at("/choices/0/logprobs/content");
            if (lc.isArray()) entries += lc.size();
        }
        assertThat(entries).isEqualTo(tokens);
    }
}
