package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.infer.Engine;
import m6j.infer.Event;
import m6j.infer.JsonGrammar;
import m6j.infer.Request;
import m6j.infer.Sampling;
import m6j.runtime.Json;
import m6j.runtime.Machine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * What constrained decoding costs: the same prompts decoded free, under json_object and under a nested JSON schema,
 * side by side in one run (rounds interleaved). Reported per decode step: its time, the rows in it, and the grammar's
 * own time in it (masks built and grammar states moved, on the engine thread: a trie walk over the vocabulary per
 * constrained row, infer.TokenMask), as measured by the engine (Engine.Stats).
 */
@Command(name = "grammar", mixinStandardHelpOptions = true,
        description = "Per-token decoding time free vs under json_object vs under a nested JSON schema (constrained decoding), in one run.")
public final class BenchGrammarCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;

    @Option(names = "--rows", defaultValue = "32", description = "Rows decoded together (default: ${DEFAULT-VALUE}).") int rows;
    @Option(names = "--max-tokens", defaultValue = "48") int maxTokens;
    @Option(names = "--rounds", defaultValue = "3") int rounds;

    static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":12},"
            + "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":6},\"maxItems\":3},"
            + "\"size\":{\"type\":\"object\",\"properties\":{\"w\":{\"type\":\"integer\"},\"h\":{\"type\":\"integer\"}},\"required\":[\"w\",\"h\"]}},"
            + "\"required\":[\"name\",\"size\"]}";

    @Override public Integer call() throws Exception {
        if (rows < 1 || maxTokens < 1 || rounds < 1) throw new IllegalArgumentException("--rows, --max-tokens and --rounds must be >= 1");
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        Map<String, JsonGrammar> modes = new LinkedHashMap<>();
        modes.put("free", null);
        modes.put("json_object", JsonGrammar.anyObject());
        modes.put("json_schema (nested)", JsonGrammar.schema(Json.MAPPER.readTree(SCHEMA)));
        long[] acc = new long[4];                                          // steps, rows, step nanos, grammar nanos
        Engine.Stats stats = new Engine.Stats() {
            @Override public void decodeStep(int batchSize, long nanos) { acc[0]++; acc[1] += batchSize; acc[2] += nanos; }
            @Override public void grammar(int rowsConstrained, long nanos) { acc[3] += nanos; }
        };
        Map<String, List<long[]>> got = new LinkedHashMap<>();
        try (Engine e = new Engine(l.model(), l.tokenizer(), Engine.Options.local(), stats)) {
            int[] prefix = e.prompt("A");
            int room = Math.min(maxTokens, l.model().config.maxTextLen() - prefix.length);
            for (int r = -1; r < rounds; r++)                                 // round -1 warms up
                for (var m : modes.entrySet()) {
                    List<Request> reqs = new ArrayList<>();
                    for (int i = 0; i < rows; i++) {
                        Request q = Request.text(i, prefix, null, room, new Sampling(1.0, 0, 1, 1000L * r + i));
                        if (m.getValue() != null) q.constrain(m.getValue(), false);
                        reqs.add(q);
                    }
                    java.util.Arrays.fill(acc, 0);
                    long tokens = 0;
                    for (Event.Done d : e.run(reqs)) tokens += d.completionTokens();
                    if (r >= 0) got.computeIfAbsent(m.getKey(), k -> new ArrayList<>()).add(new long[]{acc[0], acc[1], acc[2], acc[3], tokens});
                }
        }
        double gflops = Machine.matmulGflops();
        System.out.printf("bench grammar %s: %d rows, up to %d tokens, %d rounds; matmul (1024^3 fp32, this run) %.1f GFLOP/s%n",
                l.model().config.name(), rows, maxTokens, rounds, gflops);
        System.out.println("| mode | round | decode steps | mean rows per step | ms per step | grammar ms per step | grammar share of the step | tokens |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (var m : got.entrySet())
            for (int r = 0; r < m.getValue().size(); r++) {
                long[] v = m.getValue().get(r);
                double steps = Math.max(1, v[0]);
                System.out.printf("| %s | %d | %d | %.1f | %.2f | %.3f | %.1f%% | %d |%n", m.getKey(), r + 1, v[0], v[1] / steps,
                        v[2] / 1e6 / steps, v[3] / 1e6 / steps, 100.0 * v[3] / Math.max(1, v[2]), v[4]);
            }
        return 0;
    }
}
