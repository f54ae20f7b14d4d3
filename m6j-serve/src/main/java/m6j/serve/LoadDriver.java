package m6j.serve;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import java.util.stream.Stream;

/** Concurrent HTTP clients against a server: requests/s, tokens/s, latency percentiles, status counts. */
public final class LoadDriver {
    public record Result(int concurrency, int requests, double seconds, long tokens, double p50ms, double p99ms,
                         int ok, int client4xx, int server5xx, int failed) {
        public double requestsPerSecond() { return requests / seconds; }

        public double tokensPerSecond() { return tokens / seconds; }
    }

    /** One request: path and JSON body. */
    public record Call(String path, String body) {}

    private final String base, apiKey;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    public LoadDriver(String base, String apiKey) {
        this.base = base;
        this.apiKey = apiKey;
    }

    /** total requests over `concurrency` threads; calls.apply(i) makes request i. */
    public Result run(int concurrency, int total, IntFunction<Call> calls) throws InterruptedException {
        AtomicInteger next = new AtomicInteger(), ok = new AtomicInteger(), c4 = new AtomicInteger(), c5 = new AtomicInteger(), failed = new AtomicInteger();
        AtomicLong tokens = new AtomicLong();
        List<Double> lat = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int w = 0; w < concurrency; w++) {
            Thread t = new Thread(() -> {
                int i;
                while ((i = next.getAndIncrement()) < total) {
                    Call c = calls.apply(i);
                    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + c.path())).timeout(Duration.ofSeconds(120))
                            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(c.body()));
                    if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
                    long s = System.nanoTime();
                    try {
                        HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
                        lat.add((System.nanoTime() - s) / 1e6);
                        if (r.statusCode() >= 500) c5.incrementAndGet();
                        else if (r.statusCode() >= 400) c4.incrementAndGet();
                        else {
                            ok.incrementAndGet();
                            tokens.addAndGet(completionTokens(r.body()));
                        }
                    } catch (Exception e) {
                        failed.incrementAndGet();
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) t.join();
        double secs = (System.nanoTime() - t0) / 1e9;
        List<Double> sorted = new ArrayList<>(lat);
        Collections.sort(sorted);
        return new Result(concurrency, total, secs, tokens.get(), pct(sorted, 0.5), pct(sorted, 0.99), ok.get(), c4.get(), c5.get(), failed.get());
    }

    /** Client-side timing of streamed completions: time to first token and the gaps between later tokens. */
    public record StreamTiming(int streams, int tokens, double ttftP50ms, double gapP50ms, double gapP99ms, double gapMaxms, int failed) {}

    /** Runs the streaming completions one after another (body i from bodies.apply(i)), timing each SSE chunk as it arrives. */
    public StreamTiming streams(int count, IntFunction<String> bodies) {
        List<Double> ttft = new ArrayList<>(), gaps = new ArrayList<>();
        int tokens = 0, failed = 0;
        for (int i = 0; i < count; i++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v1/completions")).timeout(Duration.ofSeconds(120))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(bodies.apply(i)));
            if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
            long start = System.nanoTime(), last = -1;
            try {
                HttpResponse<Stream<String>> r = client.send(b.build(), HttpResponse.BodyHandlers.ofLines());
                if (r.statusCode() != 200) { failed++; r.body().close(); continue; }
                for (String line : (Iterable<String>) r.body()::iterator) {
                    if (!line.startsWith("data: ") || line.contains("[DONE]") || line.contains("\"text\":\"\"")) continue;
                    long now = System.nanoTime();
                    if (last < 0) ttft.add((now - start) / 1e6); else gaps.add((now - last) / 1e6);
                    last = now;
                    tokens++;
                }
            } catch (Exception e) {
                failed++;
            }
        }
        Collections.sort(ttft);
        Collections.sort(gaps);
        return new StreamTiming(count, tokens, pct(ttft, 0.5), pct(gaps, 0.5), pct(gaps, 0.99), gaps.isEmpty() ? Double.NaN : gaps.get(gaps.size() - 1), failed);
    }

    private static long completionTokens(String body) {
        int i = body.indexOf("\"completion_tokens\":");
        if (i < 0) return 0;
        int j = i + 20, k = j;
        while (k < body.length() && Character.isDigit(body.charAt(k))) k++;
        return k > j ? Long.parseLong(body.substring(j, k)) : 0;
    }

    static double pct(List<Double> sorted, double p) {
        if (sorted.isEmpty()) return Double.NaN;
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }
}
