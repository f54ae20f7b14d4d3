package m6j.serve;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
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
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real `m6j serve` process on a 256 MiB heap (half of what ./m6j gives it), attacked all at once for 8 s while a
 * well-behaved client keeps asking for completions: wrong-key requests with 8 MiB bodies, 8 MiB bodies of "{},{},..."
 * (each a 229 MB tree if parsed whole), PNG bombs, and slow clients that send a request's first bytes and then
 * nothing. Nothing may answer 500, the good client is served throughout (or told 503 + Retry-After), slow clients are
 * cut off at the request time limit, and the server is healthy afterwards.
 */
class HostileLoadTest {
    static final String KEY = "load-key";
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Test void attacksAtOnceLeaveTheServerServing(@TempDir Path tmp) throws Exception {
        try (ServeProcess server = new ServeProcess(tmp, List.of("-Xmx256m", "-Dsun.net.httpserver.maxReqTime=3",
                "-Dorg.bytedeco.javacpp.maxBytes=0", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"), List.of("--api-key", KEY, "--model-id", "m"))) {
            attack(server.url, server.log);
        }
    }

    private static void attack(String base, StringBuffer log) throws Exception {
        byte[] big = "x".repeat(8 << 20).getBytes(StandardCharsets.US_ASCII);
        StringBuilder amp = new StringBuilder((8 << 20) + 64).append("{\"model\":\"m\",\"input\":[{}");
        while (amp.length() < (8 << 20) - 16) amp.append(",{}");
        byte[] amplifying = amp.append("]}").toString().getBytes(StandardCharsets.US_ASCII);
        String bomb = "{\"model\":\"m\",\"input\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(HostileInputTest.png(39_999_999, 1, 8, 0)) + "\"}}]}";
        Map<String, AtomicInteger> statuses = new ConcurrentHashMap<>();
        AtomicInteger good = new AtomicInteger(), goodBusy = new AtomicInteger();
        AtomicReference<String> unexpected = new AtomicReference<>();
        // 8 s of attack, longer while the good client has fewer than 5 answers (a starved machine: other jobs on the
        // cores), at most 90 s: the good answers below all came while the attack ran.
        long end = System.currentTimeMillis() + 8_000, cap = System.currentTimeMillis() + 90_000;
        java.util.function.BooleanSupplier attacking = () -> System.currentTimeMillis() < end || (good.get() < 5 && System.currentTimeMillis() < cap);
        List<Thread> threads = new ArrayList<>();
        record Attack(int copies, String path, String key, byte[] body) {}
        for (Attack a : List.of(new Attack(6, "/v1/chat/completions", "wrong", big), new Attack(4, "/v1/embeddings", KEY, amplifying),
                new Attack(2, "/v1/embeddings", KEY, bomb.getBytes(StandardCharsets.US_ASCII))))
            for (int i = 0; i < a.copies(); i++)
                threads.add(start(() -> {
                    while (attacking.getAsBoolean()) {
                        try {
                            int s = post(base, a.path(), a.key(), a.body()).statusCode();
                            statuses.computeIfAbsent(a.path() + " " + s, k -> new AtomicInteger()).incrementAndGet();
                            if (s >= 500 && s != 503) unexpected.set(a.path() + " answered " + s);
                        } catch (Exception e) {
                            // the server may close a connection it will not read; that is an answer too
                            statuses.computeIfAbsent(a.path() + " closed", k -> new AtomicInteger()).incrementAndGet();
                        }
                    }
                }));
        List<long[]> slow = new ArrayList<>();                           // {closed after ms}
        List<Thread> slowThreads = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            long[] closedAfter = {-1};
            slow.add(closedAfter);
            slowThreads.add(start(() -> {
                URI u = URI.create(base);
                try (Socket s = new Socket(InetAddress.getByName(u.getHost()), u.getPort())) {
                    OutputStream o = s.getOutputStream();
                    o.write(("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY
                            + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"mo").getBytes(StandardCharsets.US_ASCII));
                    o.flush();
                    long t0 = System.currentTimeMillis();
                    s.setSoTimeout(20_000);
                    InputStream in = s.getInputStream();
                    try {
                        while (in.read() >= 0) { }                           // whatever comes, until the server closes
                    } catch (Exception closed) {
                        // reset or timeout
                    }
                    closedAfter[0] = System.currentTimeMillis() - t0;
                } catch (Exception ignored) {
                    // could not connect: closedAfter stays -1
                }
            }));
        }
        String completion = "{\"model\":\"m\",\"prompt\":\"The\",\"max_tokens\":4}";
        while (attacking.getAsBoolean()) {
            int s = post(base, "/v1/completions", KEY, completion.getBytes(StandardCharsets.UTF_8)).statusCode();
            if (s == 200) good.incrementAndGet();
            else if (s == 503) { goodBusy.incrementAndGet(); Thread.sleep(200); }
            else unexpected.set("a good completion answered " + s);
        }
        for (Thread t : threads) t.join();
        for (Thread t : slowThreads) t.join();
        String seen = "statuses " + statuses + ", good " + good + " (503: " + goodBusy + "); server log:\n" + log;
        assertThat(unexpected.get()).as(seen).isNull();
        assertThat(good.get()).as(seen).isGreaterThanOrEqualTo(5).isGreaterThan(4 * goodBusy.get());
        assertThat(statuses.keySet()).as(seen).contains("/v1/chat/completions 401", "/v1/embeddings 413", "/v1/embeddings 400");
        for (long[] c : slow) assertThat(c[0]).as("a slow client is cut off at the 3 s request limit (ms); " + seen).isBetween(2_000L, 12_000L);
        assertThat(log.toString()).doesNotContain("OutOfMemoryError");
        HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
        assertThat(post(base, "/v1/completions", KEY, completion.getBytes(StandardCharsets.UTF_8)).statusCode()).isEqualTo(200);
        Files.writeString(Path.of("target", "hostile-load.txt"), seen.substring(0, seen.indexOf("; server log")) + "\n");
    }

    private static Thread start(Runnable r) {
        Thread t = new Thread(r);
        t.start();
        return t;
    }

    private static HttpResponse<String> post(String base, String path, String key, byte[] body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return HTTP.send(r, HttpResponse.BodyHandlers.ofString());
    }
}
