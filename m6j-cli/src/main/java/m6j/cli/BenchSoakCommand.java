package m6j.cli;

import m6j.runtime.ChildJvm;
import m6j.runtime.Machine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.DeflaterOutputStream;

/**
 * The soak under attack (issue 14): a child `m6j serve` at the production heap, N requests at concurrency C mixing
 * valid traffic (completions, chat, streamed chat, chat with an image, JSON-mode chat, embeddings) with every hostile
 * kind (PNG bombs, JSON amplification, wrong keys with 8 MiB bodies, declared-huge bodies, deep nesting, metrics label
 * injection, slowloris, SSE streams never read), while /health and the server's resident memory are polled every
 * second. Exits 1 when an invariant fails: a valid request answered anything but 2xx or backpressure (503/429 with
 * Retry-After), a hostile one answered outside its expected 4xx (or closed), /health not ok, a label injected into
 * /metrics, resident memory growing from the first quarter of the run to the last, or KV slots held at the end.
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
        description = "Soak a child `m6j serve` under attack: valid traffic mixed with hostile requests; 5xx, RSS, /health, latency.")
public final class BenchSoakCommand implements java.util.concurrent.Callable<Integer> {
    @Option(names = {"-m", "--model"}, defaultValue = "work/quickstart/run", description = "Checkpoint or run directory (default: ${DEFAULT-VALUE}).") Path model;
    @Option(names = "--requests", defaultValue = "10000", description = "Requests in all (default: ${DEFAULT-VALUE}).") int requests;
    @Option(names = "--concurrency", defaultValue = "32", description = "Client threads (default: ${DEFAULT-VALUE}).") int concurrency;
    @Option(names = "--warmup", defaultValue = "300", description = "Warm-up requests of the same mix, not counted (default: ${DEFAULT-VALUE}).") int warmup;
    @Option(names = "--hostile", defaultValue = "0.3", description = "Fraction of hostile requests (default: ${DEFAULT-VALUE}).") double hostile;
    @Option(names = "--max-tokens", defaultValue = "8", description = "max_tokens of valid generations (default: ${DEFAULT-VALUE}).") int maxTokens;
    @Option(names = "--threads", defaultValue = "1", description = "The server's intra-op threads (default: ${DEFAULT-VALUE}).") int threads;
    @Option(names = "--jvm", defaultValue = "-Xms512m -Xmx512m -XX:+AlwaysPreTouch -XX:+UseParallelGC -Dorg.bytedeco.javacpp.maxBytes=0 -Dorg.bytedeco.javacpp.maxPhysicalBytes=0",
            description = "The server's JVM options (default: the launcher's for serve: ${DEFAULT-VALUE}).") String jvm;
    @Option(names = "--slow-open", defaultValue = "64", description = "Slow connections (slowloris, unread streams) open at once at most (default: ${DEFAULT-VALUE}).") int slowOpen;
    @Option(names = "--unread-hold", defaultValue = "5", description = "Seconds an SSE stream is left unread before its socket is reset (default: ${DEFAULT-VALUE}).") int unreadHold;
    @Option(names = "--rss-growth", defaultValue = "5", description = "Largest allowed growth, percent, of mean RSS from the first quarter of the run to the last (default: ${DEFAULT-VALUE}).") double rssGrowth;

    static final String KEY = "soak-key", MODEL = "m";
    static final String[] PROMPTS = BenchServeCommand.PROMPTS;
    static final String[] VALID = {"completion", "chat", "chat-stream", "chat-image", "chat-json", "embeddings"};
    static final String[] HOSTILE = {"png-39999999x1", "png-6000x6000-16bit-rgba", "json-amplification-8MiB", "json-nesting", "wrong-key-8MiB",
            "declared-1GiB-body", "label-injection", "slowloris", "sse-unread"};

    private HttpClient good, bad;
    private String base;
    private URI uri;
    private byte[] big, amplifying, deep, bombLine, bombDeep;
    private String smallImage;
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private final Map<String, List<Double>> latency = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private final AtomicInteger validBad = new AtomicInteger(), validBackpressure = new AtomicInteger(), hostileBad = new AtomicInteger(),
            hostileClosed = new AtomicInteger(), hostileBackpressure = new AtomicInteger();
    private final List<Long> slowClosedMs = Collections.synchronizedList(new ArrayList<>()), hugeAnsweredMs = Collections.synchronizedList(new ArrayList<>());
    private Semaphore slowSlots;
    private int warmFailures;
    private final List<Thread> slowThreads = Collections.synchronizedList(new ArrayList<>());

    @Override public Integer call() throws Exception {
        if (requests < 1 || concurrency < 1 || hostile < 0 || hostile > 1 || maxTokens < 1) throw new IllegalArgumentException("bad counts");
        if (!Files.isDirectory(model)) throw new IllegalArgumentException("no model at " + model + ": train one with ./m6j quickstart, or give -m RUN");
        slowSlots = new Semaphore(slowOpen);
        prepareBodies();
        double gflops = Machine.matmulGflops();
        Path err = Files.createTempDirectory("m6j-soak");
        List<String> args = List.of("serve", "-m", model.toString(), "--port", "0", "--threads", Integer.toString(threads), "--api-key", KEY, "--model-id", MODEL);
        ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(false, Arrays.asList(jvm.trim().split("\\s+")), err, args)).redirectErrorStream(true);
        pb.environment().put("OPENBLAS_NUM_THREADS", Integer.toString(threads));
        Process p = pb.start();
        StringBuffer log = new StringBuffer();
        CompletableFuture<String> started = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                Pattern on = Pattern.compile(" on (http://\\S+)");
                for (String line; (line = r.readLine()) != null; ) {
                    log.append(line).append('\n');
                    Matcher m = on.matcher(line);
                    if (m.find()) started.complete(m.group(1));
                }
            } catch (IOException ignored) {
                // the server ended
            }
            started.complete(null);
        });
        reader.setDaemon(true);
        reader.start();
        try {
            base = started.get(300, TimeUnit.SECONDS);
            if (base == null) throw new IllegalStateException("m6j serve did not start:\n" + log);
            uri = URI.create(base);
            good = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
            bad = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
            System.out.printf("m6j bench soak: %s, server pid %d (%s), %d requests at concurrency %d, %.0f%% hostile, max_tokens %d, matmul %.0f GFLOP/s%n",
                    model, p.pid(), jvm, requests, concurrency, 100 * hostile, maxTokens, gflops);
            return soak(p, log);
        } finally {
            p.destroy();
            if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }

    private int soak(Process p, StringBuffer log) throws Exception {
        // Warm-up, not counted: the same mix (JIT, BLAS, the handler threads the slow clients make the pool start,
        // first touches of native memory), its slow connections closed before the soak starts.
        long w0 = System.nanoTime();
        drive(requests, requests + warmup);
        for (Thread t : List.copyOf(slowThreads)) t.join();
        slowThreads.clear();
        System.out.printf("warm-up: %d requests of the same mix in %.1f s: %d valid answered other than 2xx or backpressure, %d hostile outside 4xx; server RSS %s%n",
                warmup, (System.nanoTime() - w0) / 1e9, validBad.get(), hostileBad.get(), mib(rssOf(p.pid())));
        warmFailures = validBad.get() + hostileBad.get();
        counts.clear();
        latency.clear();
        slowClosedMs.clear();
        hugeAnsweredMs.clear();
        for (AtomicInteger a : List.of(validBad, validBackpressure, hostileBad, hostileClosed, hostileBackpressure)) a.set(0);

        AtomicBoolean running = new AtomicBoolean(true);
        List<long[]> rss = Collections.synchronizedList(new ArrayList<>());          // {ms since start, bytes}
        Map<String, AtomicInteger> health = new ConcurrentHashMap<>();
        AtomicLong healthMaxMs = new AtomicLong();
        long t0 = System.nanoTime();
        Thread monitor = new Thread(() -> {
            HttpClient h = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
            while (running.get()) {
                long s = System.nanoTime();
                String state;
                try {
                    HttpResponse<String> r = h.send(HttpRequest.newBuilder(URI.create(base + "/health")).timeout(Duration.ofSeconds(10)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    state = r.statusCode() + " " + r.body().replaceAll("\\s+", "");
                } catch (Exception e) {
                    state = "no answer (" + e.getClass().getSimpleName() + ")";
                }
                healthMaxMs.accumulateAndGet((System.nanoTime() - s) / 1_000_000, Math::max);
                health.computeIfAbsent(state, k -> new AtomicInteger()).incrementAndGet();
                long b = rssOf(p.pid());
                if (b > 0) rss.add(new long[]{(System.nanoTime() - t0) / 1_000_000, b});
                try {
                    Thread.sleep(Math.max(0, 1000 - (System.nanoTime() - s) / 1_000_000));
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        monitor.start();

        drive(0, requests);
        double driveSecs = (System.nanoTime() - t0) / 1e9;
        for (Thread t : List.copyOf(slowThreads)) t.join();          // every slow connection closed (by the server or us)
        double wall = (System.nanoTime() - t0) / 1e9;
        Thread.sleep(1500);                                           // one more /health and RSS sample after the last
        running.set(false);
        monitor.interrupt();
        monitor.join();

        String metrics = get("/metrics");
        return report(p, log, rss, health, healthMaxMs.get(), driveSecs, wall, metrics);
    }

    /** Requests from..to-1 over the client threads. */
    private void drive(int from, int to) throws InterruptedException {
        AtomicInteger next = new AtomicInteger(from);
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            Thread t = new Thread(() -> {
                for (int i; (i = next.getAndIncrement()) < to; ) {
                    try {
                        if (isHostile(i)) hostile(i); else valid(i);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            t.start();
            workers.add(t);
        }
        for (Thread t : workers) t.join();
    }

    /** Request i is hostile for about the given fraction of i, spread evenly (golden-ratio sequence). */
    private boolean isHostile(int i) { return ((i * 0.6180339887498949) % 1.0) < hostile; }

    private void count(String kind, String outcome) { counts.computeIfAbsent(kind + " " + outcome, k -> new AtomicInteger()).incrementAndGet(); }

    // ---------------------------------------------------------------- valid traffic

    private void valid(int i) throws InterruptedException {
        String kind = VALID[(i / 3) % VALID.length];
        String prompt = PROMPTS[i % PROMPTS.length];
        String msg = "{\"role\":\"user\",\"content\":\"" + prompt + "\"}";
        String chat = "{\"model\":\"" + MODEL + "\",\"max_tokens\":" + maxTokens + ",\"seed\":" + i + ",\"messages\":[";
        String body = switch (kind) {
            case "completion" -> "{\"model\":\"" + MODEL + "\",\"prompt\":\"" + prompt + "\",\"max_tokens\":" + maxTokens + ",\"seed\":" + i + "}";
            case "chat" -> chat + msg + "]}";
            case "chat-stream" -> chat + msg + "],\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
            case "chat-image" -> chat + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is this?\"},"
                    + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + smallImage + "\"}}]}]}";
            case "chat-json" -> chat.replace("\"max_tokens\":" + maxTokens, "\"max_tokens\":" + Math.max(maxTokens, 16)) + msg
                    + "],\"response_format\":{\"type\":\"json_object\"}}";
            default -> "{\"model\":\"" + MODEL + "\",\"input\":[\"" + prompt + "\",\"" + i + "\"]}";
        };
        String path = kind.startsWith("chat") ? "/v1/chat/completions" : kind.equals("completion") ? "/v1/completions" : "/v1/embeddings";
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120)).header("Authorization", "Bearer " + KEY)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long s = System.nanoTime();
        try {
            int status;
            boolean retryAfter;
            String problem = null;
            if (kind.equals("chat-stream")) {
                HttpResponse<Stream<String>> resp = good.send(r, HttpResponse.BodyHandlers.ofLines());
                status = resp.statusCode();
                retryAfter = resp.headers().firstValue("Retry-After").isPresent();
                boolean done = false, error = false;
                try (Stream<String> lines = resp.body()) {
                    for (String line : (Iterable<String>) lines::iterator) {
                        if (line.equals("data: [DONE]")) done = true;
                        if (line.startsWith("data: {\"error\"")) error = true;
                    }
                }
                if (status == 200 && (!done || error)) problem = "stream ended without [DONE] or with an error event";
            } else {
                HttpResponse<String> resp = good.send(r, HttpResponse.BodyHandlers.ofString());
                status = resp.statusCode();
                retryAfter = resp.headers().firstValue("Retry-After").isPresent();
                if (status == 200 && kind.equals("chat-json")) {
                    String content = contentOf(resp.body());
                    try {
                        new com.fasterxml.jackson.databind.ObjectMapper().readTree(content);
                    } catch (Exception e) {
                        problem = "JSON-mode answer does not parse: " + content;
                    }
                }
                if (status >= 400 && status != 503 && status != 429) problem = status + " " + resp.body();
            }
            double ms = (System.nanoTime() - s) / 1e6;
            if (status == 200 && problem == null) {
                latency.computeIfAbsent(kind, k -> Collections.synchronizedList(new ArrayList<>())).add(ms);
                count(kind, "200");
            } else if ((status == 503 || status == 429) && retryAfter) {
                validBackpressure.incrementAndGet();
                count(kind, status + " Retry-After");
            } else {
                validBad.incrementAndGet();
                count(kind, Integer.toString(status));
                fail("valid " + kind + " #" + i + ": " + (problem != null ? problem : status + (retryAfter ? "" : " without Retry-After")));
            }
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            validBad.incrementAndGet();
            count(kind, "failed");
            fail("valid " + kind + " #" + i + ": " + e);
        }
    }

    private static String contentOf(String body) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(body).path("choices").path(0).path("message").path("content").asText();
        } catch (IOException e) {
            return body;
        }
    }

    private void fail(String what) {
        if (failures.size() < 50) failures.add(what.length() > 300 ? what.substring(0, 300) + "..." : what);
    }

    // ---------------------------------------------------------------- hostile traffic

    private void hostile(int i) throws InterruptedException {
        String kind = HOSTILE[(i / 2) % HOSTILE.length];
        try {
            switch (kind) {
                case "png-39999999x1" -> answer(kind, post("/v1/embeddings", KEY, bombLine), 400);
                case "png-6000x6000-16bit-rgba" -> answer(kind, post("/v1/chat/completions", KEY, bombDeep), 400, 200);  // a real image: subsampled
                case "json-amplification-8MiB" -> answer(kind, post("/v1/embeddings", KEY, amplifying), 413);
                case "json-nesting" -> answer(kind, post("/v1/chat/completions", KEY, deep), 413, 400);
                case "wrong-key-8MiB" -> answer(kind, post("/v1/chat/completions", "wrong-" + i, big), 401);
                case "declared-1GiB-body" -> declaredHuge(kind);
                case "label-injection" -> {
                    String evil = i % 4 == 0 ? "/v1/models/%22%0Ainjected_metric%201%0A" : i % 4 == 1 ? "/v1/models/x%22%7D%201%0Ainjected_metric%201%0A"
                            : i % 4 == 2 ? "/v1/anything%0Ainjected_metric%202" : "/metrics%22%0Ainjected_metric%203";
                    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + evil)).timeout(Duration.ofSeconds(60));
                    if (i % 2 == 0) b.header("Authorization", "Bearer " + KEY);
                    HttpResponse<String> r = bad.send(b.build(), HttpResponse.BodyHandlers.ofString());
                    answer(kind, r, 404, 401);
                }
                case "slowloris" -> slowloris(kind, i);
                default -> unreadStream(kind, i);
            }
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            hostileClosed.incrementAndGet();                 // the server may close a connection it will not read
            count(kind, "closed");
        }
    }

    private HttpResponse<String> post(String path, String key, byte[] body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120)).header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return bad.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private void answer(String kind, HttpResponse<String> r, int... expected) {
        int s = r.statusCode();
        boolean retry = r.headers().firstValue("Retry-After").isPresent();
        if (Arrays.stream(expected).anyMatch(e -> e == s)) count(kind, Integer.toString(s));
        else if (s == 503 && retry) {
            hostileBackpressure.incrementAndGet();
            count(kind, "503 Retry-After");
        } else {
            if (s < 400 || s >= 500) hostileBad.incrementAndGet();
            count(kind, s + " (unexpected)");
            fail("hostile " + kind + ": " + s + " " + r.body());
        }
    }

    /**
     * Headers declaring a 1 GiB body, then a few bytes and nothing more: must be refused from the header (413), with
     * nothing reserved and no thread held waiting for the rest. Waits in the background like a slow client.
     */
    /** A connection to the server with these first bytes sent; on failure closed and its slow-client slot given back. */
    private Socket sendRaw(String bytes) throws IOException {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 10_000);
            s.getOutputStream().write(bytes.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return s;
        } catch (IOException e) {
            s.close();
            slowSlots.release();
            throw e;
        }
    }

    private void declaredHuge(String kind) throws Exception {
        slowSlots.acquire();
        Socket s = sendRaw("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY
                + "\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{\"model\":\"m\",\"input\":\"");
        long t = System.currentTimeMillis();
        background(() -> {
            String outcome;
            try (s) {
                s.setSoTimeout(180_000);
                String status = statusLine(s.getInputStream());
                long ms = System.currentTimeMillis() - t;
                hugeAnsweredMs.add(ms);
                if (status == null) {
                    hostileClosed.incrementAndGet();
                    outcome = "closed";
                } else if (status.startsWith("HTTP/1.1 413")) outcome = "413";
                else {
                    hostileBad.incrementAndGet();
                    outcome = status + " (unexpected)";
                    fail("hostile " + kind + ": " + status);
                }
            } catch (IOException e) {
                hugeAnsweredMs.add(System.currentTimeMillis() - t);
                hostileClosed.incrementAndGet();
                outcome = "closed";
            }
            count(kind, outcome);
        });
    }

    /** First line of a response, or null when the connection closes first. */
    private static String statusLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) >= 0; ) {
            if (c == '\n') return b.toString().trim();
            b.append((char) c);
        }
        return b.length() == 0 ? null : b.toString().trim();
    }

    /**
     * A client that sends part of a request and then nothing, alternately stopping inside the headers and inside the
     * body. The socket is handed to a thread of its own that waits for the server to close it (the request time limit,
     * 30 s by default), so the worker goes on; at most --slow-open such connections are open at once.
     */
    private void slowloris(String kind, int i) throws Exception {
        slowSlots.acquire();
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY + "\r\n";
        Socket s = sendRaw(i % 4 == 0 ? head + "Content-Type: appl" : head + "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"mo");
        long t = System.currentTimeMillis();
        background(() -> {
            String outcome;
            try (s) {
                s.setSoTimeout(180_000);
                String status = statusLine(s.getInputStream());
                long ms = System.currentTimeMillis() - t;
                slowClosedMs.add(ms);
                // a closed connection, or a 4xx (408) the server may send first, then close
                outcome = status == null ? "closed" : status.replaceFirst("^HTTP/1\\.1 ", "");
                if (status == null) hostileClosed.incrementAndGet();
                else if (!status.matches("HTTP/1\\.1 4\\d\\d.*")) {
                    hostileBad.incrementAndGet();
                    fail("hostile slowloris: " + status);
                }
            } catch (java.net.SocketTimeoutException e) {
                outcome = "still open after 180 s";
                hostileBad.incrementAndGet();
                fail("hostile slowloris: still open after 180 s");
            } catch (IOException e) {
                slowClosedMs.add(System.currentTimeMillis() - t);
                outcome = "closed";                                  // reset
                hostileClosed.incrementAndGet();
            }
            count(kind, outcome);
        });
    }

    /**
     * A streamed chat whose client never reads: a small receive buffer, the request sent, nothing read for
     * --unread-hold seconds, then the socket reset. The server must not be held by it (its KV slot is checked free at
     * the end); the answer, read after the hold, is 200 (the request itself is valid) or backpressure.
     */
    private void unreadStream(String kind, int i) throws Exception {
        slowSlots.acquire();
        Socket s = new Socket();
        try {
            s.setReceiveBufferSize(1024);
            s.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 10_000);
            byte[] body = ("{\"model\":\"" + MODEL + "\",\"n\":8,\"seed\":" + i + ",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\""
                    + PROMPTS[i % PROMPTS.length] + "\"}]}").getBytes(StandardCharsets.UTF_8);
            s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(body);
            s.getOutputStream().flush();
        } catch (IOException e) {
            s.close();
            slowSlots.release();
            throw e;
        }
        background(() -> {
            String outcome;
            try (s) {
                Thread.sleep(unreadHold * 1000L);
                s.setSoTimeout(60_000);
                String status = statusLine(s.getInputStream());
                outcome = status == null ? "closed" : status.replaceFirst("^HTTP/1\\.1 ", "");
                if (status == null) hostileClosed.incrementAndGet();
                else if (!status.startsWith("HTTP/1.1 200") && !status.startsWith("HTTP/1.1 4") && !status.startsWith("HTTP/1.1 503")) {
                    hostileBad.incrementAndGet();
                    fail("hostile sse-unread: " + status);
                }
                s.setSoLinger(true, 0);                              // reset, unread bytes and all
            } catch (Exception e) {
                outcome = "closed";
                hostileClosed.incrementAndGet();
            }
            count(kind, outcome);
        });
    }

    private void background(Runnable r) {
        Thread t = new Thread(() -> {
            try {
                r.run();
            } finally {
                slowSlots.release();
            }
        });
        t.setDaemon(true);
        slowThreads.add(t);
        t.start();
    }

    // ---------------------------------------------------------------- report

    private int report(Process p, StringBuffer log, List<long[]> rss, Map<String, AtomicInteger> health, long healthMaxMs, double driveSecs, double wall,
                       String metrics) {
        System.out.printf("%n| kind | class | outcome | count |%n|---|---|---|---:|%n");
        int valid = 0, host = 0;
        for (var e : new TreeMap<>(counts).entrySet()) {
            String kind = e.getKey().substring(0, e.getKey().indexOf(' '));
            boolean isValid = Arrays.asList(VALID).contains(kind);
            if (isValid) valid += e.getValue().get(); else host += e.getValue().get();
            System.out.printf("| %s | %s | %s | %,d |%n", kind, isValid ? "valid" : "hostile", e.getKey().substring(kind.length() + 1), e.getValue().get());
        }
        List<Double> all = new ArrayList<>();
        System.out.printf("%n| valid kind | ok | p50 ms | p99 ms |%n|---|---:|---:|---:|%n");
        for (String k : VALID) {
            List<Double> l = new ArrayList<>(latency.getOrDefault(k, List.of()));
            Collections.sort(l);
            all.addAll(l);
            System.out.printf("| %s | %,d | %.0f | %.0f |%n", k, l.size(), pct(l, 0.5), pct(l, 0.99));
        }
        Collections.sort(all);
        System.out.printf("%nrequests: %,d (%,d valid, %,d hostile) at concurrency %d; driven in %.1f s, wall %.1f s (slow connections closed)%n",
                valid + host, valid, host, concurrency, driveSecs, wall);
        System.out.printf("valid: %,d ok, p50 %.0f ms, p99 %.0f ms; %d answered other than 2xx or backpressure (invariant: 0); backpressure (503/429 with Retry-After): %d%n",
                all.size(), pct(all, 0.5), pct(all, 0.99), validBad.get(), validBackpressure.get());
        System.out.printf("hostile: %d answered outside 4xx (invariant: 0; the 6000x6000 PNG and the unread stream may be 200); %d closed connections; backpressure 503: %d%n",
                hostileBad.get(), hostileClosed.get(), hostileBackpressure.get());
        List<Long> slow = new ArrayList<>(slowClosedMs);
        Collections.sort(slow);
        if (!slow.isEmpty())
            System.out.printf("slowloris: %d cut off by the server after %.1f s min, %.1f s median, %.1f s max%n", slow.size(), slow.get(0) / 1e3,
                    slow.get(slow.size() / 2) / 1e3, slow.get(slow.size() - 1) / 1e3);

        List<Long> huge = new ArrayList<>(hugeAnsweredMs);
        Collections.sort(huge);
        if (!huge.isEmpty())
            System.out.printf("declared 1 GiB bodies: answered or closed after %.1f s median, %.1f s max%n", huge.get(huge.size() / 2) / 1e3, huge.get(huge.size() - 1) / 1e3);
        boolean ok = validBad.get() == 0 && hostileBad.get() == 0 && warmFailures == 0;
        long min = Long.MAX_VALUE, max = 0, last = 0;
        for (long[] r : rss) { min = Math.min(min, r[1]); max = Math.max(max, r[1]); last = r[1]; }
        double first = 0, lastQ = 0, growth = Double.NaN;
        int n = rss.size();
        if (n >= 8) {
            first = rss.subList(0, n / 4).stream().mapToLong(r -> r[1]).average().orElse(0);
            lastQ = rss.subList(n - n / 4, n).stream().mapToLong(r -> r[1]).average().orElse(0);
            growth = 100 * (lastQ - first) / first;
            System.out.printf("server RSS (%d samples, 1/s): min %s, max %s, last %s; mean of first quarter %s, of last quarter %s (%+.1f%%, allowed %+.1f%%)%n",
                    n, mib(min), mib(max), mib(last), mib((long) first), mib((long) lastQ), growth, rssGrowth);
            if (growth > rssGrowth) { ok = false; System.out.println("FAIL: resident memory grew"); }
        } else System.out.println("server RSS: too few samples (" + n + ")");
        System.out.printf("/health (1/s, max %d ms): %s%n", healthMaxMs, new TreeMap<>(health));
        if (health.keySet().stream().anyMatch(k -> !k.startsWith("200 {\"status\":\"ok\""))) { ok = false; System.out.println("FAIL: /health was not ok throughout"); }

        Matcher m = Pattern.compile("path=\"([^\"]*)\"").matcher(metrics);
        java.util.Set<String> paths = new java.util.TreeSet<>();
        while (m.find()) paths.add(m.group(1));
        // the attacks' paths all carry "injected" and percent escapes: neither may reach the scrape
        boolean injected = metrics.contains("injected") || paths.stream().anyMatch(x -> x.contains("%") || x.contains("\\"));
        System.out.printf("/metrics after the run: path labels %s%s%n", paths, injected ? " -- INJECTED" : ", nothing injected");
        if (injected) ok = false;
        String slotsUsed = gauge(metrics, "m6j_kv_slots_used"), active = gauge(metrics, "m6j_active_sequences");
        System.out.printf("after the run: m6j_kv_slots_used %s, m6j_active_sequences %s, m6j_queue_depth %s%n", slotsUsed, active, gauge(metrics, "m6j_queue_depth"));
        if (!"0".equals(slotsUsed) && !"0.0".equals(slotsUsed)) { ok = false; System.out.println("FAIL: KV slots still held"); }
        if (log.indexOf("OutOfMemoryError") >= 0 || log.indexOf("Exception") >= 0) {
            System.out.println("server log mentions an exception:");
            log.toString().lines().filter(l -> l.contains("Exception") || l.contains("Error")).limit(20).forEach(l -> System.out.println("  " + l));
            if (log.indexOf("OutOfMemoryError") >= 0) ok = false;
        }
        if (!p.isAlive()) { ok = false; System.out.println("FAIL: the server died: exit " + p.exitValue()); }
        for (String f : failures) System.out.println("  " + f);
        System.out.println(ok ? "soak: all invariants hold" : "soak: INVARIANT FAILED");
        return ok ? 0 : 1;
    }

    private static String gauge(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(metrics);
        if (!m.find()) return "?";
        String v = m.group(1);
        return v.endsWith(".0") ? v.substring(0, v.length() - 2) : v;
    }

    private String get(String path) {
        try {
            return good.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }

    static long rssOf(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status")))
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        } catch (IOException | NumberFormatException ignored) {
            // not Linux, or gone
        }
        return -1;
    }

    private static String mib(long b) { return String.format("%.0f MiB", b / 1048576.0); }

    static double pct(List<Double> sorted, double p) {
        if (sorted.isEmpty()) return Double.NaN;
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }

    // ---------------------------------------------------------------- bodies

    private void prepareBodies() throws IOException {
        big = "x".repeat(8 << 20).getBytes(StandardCharsets.US_ASCII);
        StringBuilder amp = new StringBuilder((8 << 20) + 64).append("{\"model\":\"m\",\"input\":[{}");
        while (amp.length() < (8 << 20) - 16) amp.append(",{}");
        amplifying = amp.append("]}").toString().getBytes(StandardCharsets.US_ASCII);
        deep = ("{\"model\":\"m\",\"messages\":" + "[".repeat(5000) + "]".repeat(5000) + "}").getBytes(StandardCharsets.US_ASCII);
        bombLine = ("{\"model\":\"m\",\"input\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(png(39_999_999, 1, 8, 0)) + "\"}}]}").getBytes(StandardCharsets.US_ASCII);
        bombDeep = ("{\"model\":\"m\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(png(6000, 6000, 16, 6)) + "\"}}]}]}").getBytes(StandardCharsets.US_ASCII);
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) img.setRGB(x, y, (x * 8) << 16 | (y * 8) << 8 | 128);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        ImageIO.write(img, "png", b);
        smallImage = "data:image/png;base64," + Base64.getEncoder().encodeToString(b.toByteArray());
    }

    /**
     * A valid PNG of w x h, all zeros, rows streamed through the compressor (the bomb never exists uncompressed);
     * also the hostile-input tests' bombs.
     */
    public static byte[] png(int w, int h, int bitDepth, int colourType) throws IOException {
        int channels = switch (colourType) { case 0 -> 1; case 2 -> 3; case 4 -> 2; case 6 -> 4; default -> throw new IllegalArgumentException(); };
        long rowBytes = 1 + ((long) w * channels * bitDepth + 7) / 8;
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        byte[] zeros = new byte[1 << 16];
        try (DeflaterOutputStream z = new DeflaterOutputStream(idat)) {
            for (long left = rowBytes * h; left > 0; left -= zeros.length) z.write(zeros, 0, (int) Math.min(zeros.length, left));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(out);
        d.write(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream hd = new DataOutputStream(ihdr);
        hd.writeInt(w);
        hd.writeInt(h);
        hd.write(new byte[]{(byte) bitDepth, (byte) colourType, 0, 0, 0});
        chunk(d, "IHDR", ihdr.toByteArray());
        chunk(d, "IDAT", idat.toByteArray());
        chunk(d, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(DataOutputStream d, String type, byte[] data) throws IOException {
        d.writeInt(data.length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        d.write(t);
        d.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        d.writeInt((int) crc.getValue());
    }
}
