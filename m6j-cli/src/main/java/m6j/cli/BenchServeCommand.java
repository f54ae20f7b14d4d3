package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.runtime.Machine;
import m6j.runtime.Memory;
import m6j.serve.LoadDriver;
import m6j.infer.Engine;
import m6j.serve.ServeOptions;
import m6j.serve.Server;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Drive an in-process server with concurrent clients: requests/s, tokens/s, p50/p99 latency per concurrency, batching speed-up; optional soak with RSS.")
public final class BenchServeCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin ModelOption model;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,8,32", description = "Client counts (default: ${DEFAULT-VALUE}).") List<Integer> levels;
    @Option(names = "--requests", defaultValue = "4", description = "Requests per client at each level (default: ${DEFAULT-VALUE}).") int perClient;
    @Option(names = "--max-tokens", defaultValue = "32", description = "max_tokens of each completion (default: ${DEFAULT-VALUE}).") int maxTokens;
    @Option(names = "--temperature", defaultValue = "1", description = "Sampling temperature (default: ${DEFAULT-VALUE}; 0 = greedy).") double temperature;
    @Option(names = "--soak", defaultValue = "0", description = "Then a soak of this many mixed requests (0 = none).") int soak;
    @Option(names = "--soak-concurrency", defaultValue = "16") int soakConcurrency;
    @Option(names = "--url", description = "Drive this running server (e.g. http://127.0.0.1:8080) instead of one started in process.") String url;
    @Option(names = "--model-id", defaultValue = "m6j-bench", description = "Model name sent in requests (default: ${DEFAULT-VALUE}).") String modelId;
    @Option(names = "--streams", defaultValue = "0", description = "Then time this many streamed completions, alone and while "
            + "/v1/images/generations draws (needs a run trained with --vqgan), client-side (0 = skip).") int streams;

    static final String[] PROMPTS = {"The jury said", "床前明月光，", "It was a dark and stormy night", "She opened the door and",
            "In the morning the city", "春眠不觉晓，", "The committee will meet", "A pair of"};

    @Override public Integer call() throws Exception {
        if (perClient < 1 || maxTokens < 1 || soak < 0 || soakConcurrency < 1 || streams < 0) throw new IllegalArgumentException("counts must be positive");
        common.init();
        Server s = null;
        String base = url;
        if (url == null) {
            Checkpoint.Loaded l = Checkpoint.load(model.model);
            int maxBatch = Math.max(32, levels.stream().mapToInt(Integer::intValue).max().orElse(1));
            ServeOptions o = ServeOptions.defaults(modelId).withPort(0).withEngine(new Engine.Options(maxBatch, 4096, 120_000));
            s = new Server(l, streams > 0, null, o);
            base = s.baseUrl();
        }
        try (Server closing = s) {
            LoadDriver d = new LoadDriver(base, null);
            System.out.printf("m6j bench serve: %s, max_tokens %d, temperature %s, %d requests per client, matmul %.0f GFLOP/s%n",
                    url != null ? url : model.model, maxTokens, temperature, perClient, Machine.matmulGflops());
            d.run(4, 16, i -> completion(i));                   // warm-up (BLAS ramp-up, JIT)
            List<LoadDriver.Result> rs = new ArrayList<>();
            System.out.println("| concurrency | requests | req/s | tokens/s | p50 ms | p99 ms | 4xx | 5xx |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            for (int c : levels) {
                LoadDriver.Result r = d.run(c, c * perClient, i -> completion(i));
                rs.add(r);
                System.out.printf("| %d | %d | %.1f | %.0f | %.0f | %.0f | %d | %d |%n", c, r.requests(), r.requestsPerSecond(), r.tokensPerSecond(),
                        r.p50ms(), r.p99ms(), r.client4xx(), r.server5xx() + r.failed());
            }
            if (rs.size() > 1)
                System.out.printf("batching speed-up (tokens/s at %d over at %d): %.2fx%n", rs.get(rs.size() - 1).concurrency(), rs.get(0).concurrency(),
                        rs.get(rs.size() - 1).tokensPerSecond() / rs.get(0).tokensPerSecond());
            if (s != null) System.out.printf("decode steps: mean batch %.1f, mean step %.1f ms%n", s.metrics().meanBatch(), s.metrics().meanStepMs());
            if (streams > 0) streaming(d, base);
            if (soak > 0) soak(d);
        }
        return 0;
    }

    /** Inter-token latency of a text stream, alone and while another client keeps drawing images (4 per request). */
    private void streaming(LoadDriver d, String base) throws InterruptedException {
        IntFunction<String> body = i -> "{\"model\":\"" + modelId + "\",\"prompt\":\"" + PROMPTS[i % PROMPTS.length] + "\",\"max_tokens\":"
                + maxTokens + ",\"seed\":" + i + ",\"temperature\":" + temperature + ",\"stream\":true}";
        LoadDriver.StreamTiming alone = d.streams(streams, body);
        AtomicBoolean drawing = new AtomicBoolean(true);
        AtomicInteger drawn = new AtomicInteger(), drawFailed = new AtomicInteger();
        LoadDriver painter = new LoadDriver(base, null);
        Thread t = new Thread(() -> {
            try {
                while (drawing.get()) {
                    LoadDriver.Result r = painter.run(1, 1, i -> new LoadDriver.Call("/v1/images/generations",
                            "{\"model\":\"" + modelId + "\",\"prompt\":\"an ankle boot\",\"n\":4}"));
                    if (r.ok() == 1) drawn.addAndGet(4); else drawFailed.incrementAndGet();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long t0 = System.nanoTime();
        t.start();
        Thread.sleep(500);                                      // the first images are being drawn
        LoadDriver.StreamTiming busy = d.streams(streams, body);
        drawing.set(false);
        t.join();
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.println("| text stream | streams | tokens | TTFT p50 ms | inter-token p50 ms | p99 ms | max ms | failed |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (var e : new Object[][]{{"alone", alone}, {"while drawing", busy}}) {
            LoadDriver.StreamTiming x = (LoadDriver.StreamTiming) e[1];
            System.out.printf("| %s | %d | %d | %.0f | %.1f | %.1f | %.1f | %d |%n", e[0], x.streams(), x.tokens(), x.ttftP50ms(), x.gapP50ms(), x.gapP99ms(), x.gapMaxms(), x.failed());
        }
        System.out.printf("images drawn meanwhile: %d in %.1f s (%.2f images/s), %d failed requests%n", drawn.get(), secs, drawn.get() / secs, drawFailed.get());
    }

    private String completionBody(int i) {
        return "{\"model\":\"" + modelId + "\",\"prompt\":\"" + PROMPTS[i % PROMPTS.length] + "\",\"max_tokens\":" + maxTokens + ",\"seed\":" + i + ",\"temperature\":" + temperature + "}";
    }

    private LoadDriver.Call completion(int i) { return new LoadDriver.Call("/v1/completions", completionBody(i)); }

    /** Mixed traffic: completions, chat, embeddings, and every 10th request a bad one (must be 4xx, never 5xx). */
    private LoadDriver.Call mixed(int i) {
        return switch (i % 10) {
            case 0 -> new LoadDriver.Call("/v1/completions", "{\"model\":\"" + modelId + "\",\"prompt\":" + (i % 20 == 0 ? "{" : "7") + "}");
            case 1, 2 -> new LoadDriver.Call("/v1/chat/completions", "{\"model\":\"" + modelId + "\",\"max_tokens\":" + Math.min(16, maxTokens)
                    + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPTS[i % PROMPTS.length] + "\"}]}");
            case 3 -> new LoadDriver.Call("/v1/embeddings", "{\"model\":\"" + modelId + "\",\"input\":[\"" + PROMPTS[i % PROMPTS.length] + "\",\"" + i + "\"]}");
            default -> new LoadDriver.Call("/v1/completions", "{\"model\":\"" + modelId + "\",\"prompt\":\"" + PROMPTS[i % PROMPTS.length]
                    + "\",\"max_tokens\":" + Math.min(16, maxTokens) + ",\"seed\":" + i + "}");
        };
    }

    private void soak(LoadDriver d) throws InterruptedException {
        int warm = Math.min(1000, soak / 10);
        LoadDriver.Result w = d.run(soakConcurrency, warm, this::mixed);
        System.gc();
        long rss0 = Memory.rss();
        LoadDriver.Result r = d.run(soakConcurrency, soak, this::mixed);
        System.gc();
        long rss1 = Memory.rss();
        System.out.printf("soak: %d warm-up + %d requests at concurrency %d in %.0f s: %d ok, %d 4xx (the bad ones), %d 5xx, %d failed; "
                        + "p50 %.0f ms, p99 %.0f ms; RSS after warm-up %s, at end %s (%+.1f%%)%n",
                warm, r.requests(), soakConcurrency, r.seconds(), r.ok(), r.client4xx(), r.server5xx() + w.server5xx(), r.failed() + w.failed(),
                r.p50ms(), r.p99ms(), Memory.mib(rss0), Memory.mib(rss1), 100.0 * (rss1 - rss0) / rss0);
    }
}
