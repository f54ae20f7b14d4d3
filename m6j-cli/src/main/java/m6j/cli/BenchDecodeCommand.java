package m6j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.checkpoint.Checkpoint;
import m6j.data.Tokenizer;
import m6j.infer.Engine;
import m6j.infer.Event;
import m6j.infer.Request;
import m6j.infer.Sampling;
import m6j.model.M6Config;
import m6j.model.MoeConfig;
import m6j.runtime.Json;
import m6j.runtime.Machine;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Greedy KV-cache decoding through the engine, tokens/s at each --rows value, and with --python the same checkpoint,
 * prompts and token budget decoded by PyTorch eager (bench/python/m6_decode.py, a child process with this process's
 * environment and thread count), rounds interleaved. Rows end as the engine ends them (EOS, --new-tokens, the
 * context): the Python loop ends them alike, so with equal greedy tokens both sides decode the same tokens; the
 * token counts are printed beside the rates. Per-token latency at one row is set against the matmul FLOPs of a
 * decode step divided by the matmul rate measured in this run.
 */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Greedy KV-cache decoding tokens/s at 1 and 32 rows, m6j's engine vs PyTorch eager (--python), in one run.")
public final class BenchDecodeCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;

    @Option(names = "--rows", split = ",", defaultValue = "1,32", description = "Rows decoded together, one run each (default: ${DEFAULT-VALUE}).") List<Integer> rows;
    @Option(names = "--new-tokens", defaultValue = "48", description = "Tokens per row at most (default: ${DEFAULT-VALUE}).") int newTokens;
    @Option(names = "--rounds", defaultValue = "3", description = "Timed rounds, after a warm-up (default: ${DEFAULT-VALUE}).") int rounds;
    @Option(names = "--python", description = "Also decode with PyTorch eager (bench/python/m6_decode.py).") boolean python;
    @Option(names = "--python-bin", defaultValue = "/usr/bin/python3", description = "The Python with torch (default: ${DEFAULT-VALUE}).") String pythonBin;

    /**
     * Candidate prompts, varied so that rows route to different experts. Only those whose greedy text runs to
     * --new-tokens without an EOS are used (chosen in the warm-up), so that every row decodes the same token count;
     * row i takes used prompt i mod their number.
     */
    static final String[] PROMPTS = {"a pair of", "the shirt is", "an ankle boot with", "a bag", "this dress",
            "a black sneaker and", "the coat", "trousers in", "a white", "red and blue", "the pullover has", "a sandal",
            "striped", "a long sleeve", "the model wears", "leather", "a", "the", "soft cotton", "dark grey",
            "a summer", "with a zip", "a t-shirt", "a shoe"};

    record Settings(List<Integer> rows, int newTokens, int rounds) {
        Settings {
            if (rows.isEmpty() || rows.stream().anyMatch(r -> r < 1 || r > 128)) throw new IllegalArgumentException("--rows values must be in 1..128");
            if (newTokens < 1) throw new IllegalArgumentException("--new-tokens must be >= 1");
            if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1");
            rows = List.copyOf(rows);
        }
    }

    /** One timed run of one side: tokens made, wall seconds (prefill included), decode steps and their nanos. */
    record Run(long tokens, double seconds, long steps, long stepNanos) {
        double tokensPerSecond() { return tokens / seconds; }
        double msPerStep() { return stepNanos / 1e6 / Math.max(1, steps); }
    }

    @Override public Integer call() throws Exception {
        Settings s = new Settings(rows, newTokens, rounds);
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        M6Config c = l.model().config;
        Tokenizer tok = l.tokenizer();
        int eos = tok.id(Tokenizer.EOS), textVocab = Math.min(c.vocabSize(), tok.vocabSize());
        int threads = torch.get_num_threads();
        Map<Integer, List<Run>> java = new LinkedHashMap<>(), py = new LinkedHashMap<>();
        Map<Integer, List<int[]>> javaIds = new LinkedHashMap<>();
        Map<Integer, List<int[]>> pyIds = new LinkedHashMap<>();
        double pyGflops = Double.NaN;
        int prompt0;
        long[] acc = new long[3];                                          // tokens made, steps, step nanos
        Engine.Stats stats = new Engine.Stats() {
            @Override public void generatedTokens(int n) { acc[0] += n; }
            @Override public void decodeStep(int batchSize, long nanos) { acc[1]++; acc[2] += nanos; }
        };
        Path promptFile = Files.createTempFile("m6j-decode", ".json");
        try (Engine e = new Engine(l.model(), tok, Engine.Options.local(), stats)) {
            List<int[]> prompts = choosePrompts(e, s.newTokens());
            Map<String, Object> spec = new LinkedHashMap<>();
            spec.put("prompts", prompts);
            spec.put("eos", eos);
            spec.put("textVocab", textVocab);
            prompt0 = prompts.get(0).length;
            Files.writeString(promptFile, Json.MAPPER.writeValueAsString(spec));
            for (int r = -1; r < s.rounds(); r++) {                          // round -1 warms up
                for (int b : s.rows()) {
                    List<Request> reqs = new ArrayList<>();
                    for (int i = 0; i < b; i++) reqs.add(Request.text(i, prompts.get(i % prompts.size()), null, s.newTokens(), Sampling.greedy()));
                    Arrays.fill(acc, 0);
                    long t0 = System.nanoTime();
                    List<Event.Done> done = new ArrayList<>(e.run(reqs));
                    double secs = (System.nanoTime() - t0) / 1e9;
                    if (r < 0) continue;
                    java.computeIfAbsent(b, k -> new ArrayList<>()).add(new Run(acc[0], secs, acc[1], acc[2]));
                    done.sort(Comparator.comparingInt(Event.Done::index));
                    javaIds.put(b, done.stream().limit(4).map(Event.Done::ids).toList());
                }
                // The Python side's warm-up is inside its process (one untimed run per rows value).
                if (python && r >= 0) {
                    JsonNode out = runPython(l.dir(), promptFile, s, threads, r == 0);
                    if (r == 0) pyGflops = out.path("matmulGflops").asDouble(Double.NaN);
                    for (int b : s.rows()) {
                        JsonNode row = out.path("rows").path(Integer.toString(b));
                        JsonNode run = row.path("rounds").get(0);
                        py.computeIfAbsent(b, k -> new ArrayList<>()).add(new Run(run.path("tokens").asLong(), run.path("seconds").asDouble(),
                                run.path("decodeSteps").asLong(), Math.round(run.path("msPerStep").asDouble() * run.path("decodeSteps").asLong() * 1e6)));
                        List<int[]> ids = new ArrayList<>();
                        for (JsonNode one : row.path("ids")) {
                            int[] a = new int[one.size()];
                            for (int i = 0; i < a.length; i++) a[i] = one.get(i).asInt();
                            if (a.length > 0 && a[a.length - 1] == eos) a = Arrays.copyOf(a, a.length - 1);   // the engine does not keep EOS
                            ids.add(a);
                        }
                        pyIds.put(b, ids);
                    }
                }
            }
        } finally {
            Files.deleteIfExists(promptFile);
        }
        double gflops = Machine.matmulGflops();
        report(c, s, threads, gflops, pyGflops, java, py, javaIds, pyIds, l, prompt0);
        return 0;
    }

    /** The candidates whose greedy continuation is cut by the length limit (all of them when none is). */
    private static List<int[]> choosePrompts(Engine e, int newTokens) {
        List<Request> reqs = new ArrayList<>();
        for (int i = 0; i < PROMPTS.length; i++) reqs.add(Request.text(i, e.prompt(PROMPTS[i]), null, newTokens, Sampling.greedy()));
        List<int[]> out = new ArrayList<>();
        // "length" also ends a row at the model's context: only rows that made all newTokens count.
        for (Event.Done d : e.run(reqs)) if (d.finish().equals("length") && d.ids().length == newTokens) out.add(e.prompt(PROMPTS[d.index()]));
        if (out.isEmpty()) for (String p : PROMPTS) out.add(e.prompt(p));
        System.err.printf("bench decode: %d of %d prompts decode %d tokens without an EOS; those are used%n", out.size(), PROMPTS.length, newTokens);
        return out;
    }

    private JsonNode runPython(Path ckpt, Path prompts, Settings s, int threads, boolean matmul) throws Exception {
        Path script = Path.of(System.getProperty("m6j.home", "."), "bench", "python", "m6_decode.py");
        List<String> cmd = new ArrayList<>(List.of(pythonBin, script.toString(), ckpt.toString(), "--prompts", prompts.toString(),
                "--rows", String.join(",", s.rows().stream().map(String::valueOf).toList()), "--new-tokens", Integer.toString(s.newTokens()),
                "--rounds", "1", "--threads", Integer.toString(threads)));
        if (matmul) cmd.add("--matmul");
        // The child inherits this process's environment: the launcher's LD_PRELOAD (jemalloc), OMP_WAIT_POLICY, MALLOC_*.
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException("m6_decode.py exited with " + p.exitValue());
        return Json.MAPPER.readTree(out);
    }

    /**
     * Matmul FLOPs of one decode step of one row whose new token sits at position pos (attending pos + 1 positions):
     * q/k/v and output projections, q.k and att.v, the FFN (MoE: router plus the k chosen experts and any shared
     * ones) in every layer, and the output layer over the head tokens the row may choose from (the engine computes
     * only those logits: the text vocabulary for text, the codes for an image).
     */
    static double stepFlops(M6Config c, int pos, long head) {
        double d = c.dModel(), f = c.dFF();
        MoeConfig m = c.moe();
        double flops = 2 * d * head;
        for (int layer = 0; layer < c.nLayers(); layer++) {
            flops += 2 * d * 3 * d + 2 * d * d + 2 * 2 * d * (pos + 1.0);
            if (m.isMoeLayer(layer)) flops += 2 * d * m.experts() + (m.k() + m.sharedExperts()) * 4 * d * f;
            else flops += 4 * d * f;
        }
        return flops;
    }

    private void report(M6Config c, Settings s, int threads, double gflops, double pyGflops, Map<Integer, List<Run>> java,
                        Map<Integer, List<Run>> py, Map<Integer, List<int[]>> javaIds, Map<Integer, List<int[]>> pyIds, Checkpoint.Loaded l, int prompt0) {
        System.out.printf("bench decode %s (%s): %d threads, up to %d new tokens per row, %d rounds, greedy; matmul (1024^3 fp32, this run) %.1f GFLOP/s (Java)%s%n",
                c.name(), l.dir(), threads, s.newTokens(), s.rounds(), gflops,
                Double.isNaN(pyGflops) ? "" : String.format(", %.1f GFLOP/s (Python)", pyGflops));
        System.out.println("| rows | round | Java tokens | Java tok/s | Python tokens | Python tok/s | Java/Python | Java ms/step | Python ms/step |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        for (int b : s.rows())
            for (int r = 0; r < s.rounds(); r++) {
                Run j = java.get(b).get(r);
                Run p = py.containsKey(b) ? py.get(b).get(r) : null;
                System.out.printf("| %d | %d | %d | %.1f | %s | %s | %s | %.2f | %s |%n", b, r + 1, j.tokens(), j.tokensPerSecond(),
                        p == null ? "-" : Long.toString(p.tokens()), p == null ? "-" : String.format("%.1f", p.tokensPerSecond()),
                        p == null ? "-" : String.format("%.2fx", j.tokensPerSecond() / p.tokensPerSecond()), j.msPerStep(),
                        p == null ? "-" : String.format("%.2f", p.msPerStep()));
            }
        for (int b : s.rows()) {
            double jm = median(java.get(b).stream().mapToDouble(Run::tokensPerSecond).toArray());
            String line = String.format("rows %d: Java median %.1f tok/s", b, jm);
            if (py.containsKey(b)) {
                double pm = median(py.get(b).stream().mapToDouble(Run::tokensPerSecond).toArray());
                line += String.format(", Python median %.1f tok/s, ratio %.2fx", pm, jm / pm);
            }
            System.out.println(line);
        }
        if (s.rows().contains(1)) {
            // Mean FLOPs of the decode steps one row of prompt 0 runs (positions prompt .. prompt + steps - 1).
            Run j = java.get(1).get(0);
            int p0 = prompt0;
            double flops = 0;
            for (int i = 0; i < j.steps(); i++) flops += stepFlops(c, p0 + i, c.vocabSize());
            flops /= Math.max(1, j.steps());
            double boundMs = flops / (gflops * 1e9) * 1e3;
            double jms = median(java.get(1).stream().mapToDouble(Run::msPerStep).toArray());
            String line = String.format("rows 1: %.3f MFLOP per decode step (matmuls, mean over its %d steps), bound at %.1f GFLOP/s = %.4f ms; Java %.2f ms/step = %.0fx the bound",
                    flops / 1e6, j.steps(), gflops, boundMs, jms, jms / boundMs);
            if (py.containsKey(1)) {
                double pms = median(py.get(1).stream().mapToDouble(Run::msPerStep).toArray());
                line += String.format(", Python %.2f ms/step = %.0fx", pms, pms / boundMs);
            }
            System.out.println(line);
        }
        if (!pyIds.isEmpty())
            for (int b : s.rows()) {
                List<int[]> a = javaIds.get(b), p = pyIds.get(b);
                int same = 0;
                for (int i = 0; i < Math.min(a.size(), p.size()); i++) if (Arrays.equals(a.get(i), p.get(i))) same++;
                System.out.printf("rows %d: greedy tokens of the first %d rows equal Java vs Python: %d of %d%s%n", b, Math.min(a.size(), p.size()),
                        same, Math.min(a.size(), p.size()), same == Math.min(a.size(), p.size()) ? "" : "  Java " + Arrays.toString(a.get(0)) + " Python " + Arrays.toString(p.get(0)));
            }
    }

    static double median(double[] v) {
        double[] x = v.clone();
        Arrays.sort(x);
        return x.length % 2 == 1 ? x[x.length / 2] : (x[x.length / 2 - 1] + x[x.length / 2]) / 2;
    }
}
