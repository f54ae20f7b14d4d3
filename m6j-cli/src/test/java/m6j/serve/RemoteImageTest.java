package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * http(s) image URLs over real HTTP: a JDK HttpServer on 127.0.0.1 serves a committed PNG (and worse), and three
 * servers on the test model read it: the shared one (fetching off), one fetching public addresses only (so this
 * loopback host is refused before any connection), and one that allows private addresses with small limits.
 */
class RemoteImageTest {
    static final long MAX_BYTES = 256 << 10, TIMEOUT_MS = 1500;
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static HttpServer host;
    static ExecutorService hostPool;
    static Server publicOnly, allowPrivate;
    static byte[] png;
    static String base;
    static final AtomicInteger hits = new AtomicInteger();

    @BeforeAll static void start() throws Exception {
        png = Files.readAllBytes(ServeFixture.samplePng());
        assertThat((long) png.length).isLessThan(MAX_BYTES);
        host = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        hostPool = Executors.newCachedThreadPool();
        host.setExecutor(hostPool);
        base = "http://127.0.0.1:" + host.getAddress().getPort();
        route("/cat.png", ex -> send(ex, 200, png, false));
        route("/chunked.png", ex -> send(ex, 200, png, true));
        byte[] tiny = ImageInput.png(new byte[32 * 32 * 3], 32);
        route("/tiny.png", ex -> send(ex, 200, tiny, false));
        route("/text", ex -> send(ex, 200, "hello, not a picture".getBytes(StandardCharsets.UTF_8), false));
        route("/missing", ex -> send(ex, 404, "no".getBytes(StandardCharsets.UTF_8), false));
        route("/declared-big", ex -> {                       // says it is over the limit; the fetcher must not read on
            ex.sendResponseHeaders(200, MAX_BYTES + 1);
            try (OutputStream o = ex.getResponseBody()) { o.write(new byte[(int) MAX_BYTES + 1]); } catch (IOException gone) { }
        });
        route("/chunked-big", ex -> {                        // no length: the fetcher must stop at the cap
            ex.sendResponseHeaders(200, 0);
            try (OutputStream o = ex.getResponseBody()) { for (int i = 0; i < 64; i++) o.write(new byte[16 << 10]); } catch (IOException gone) { }
        });
        route("/slow", ex -> {                               // a byte every 100 ms: each read is quick, the whole is not
            ex.sendResponseHeaders(200, 0);
            try (OutputStream o = ex.getResponseBody()) {
                for (int i = 0; i < 200 && i < png.length; i++) { o.write(png[i]); o.flush(); Thread.sleep(100); }
            } catch (IOException | InterruptedException gone) { }
        });
        route("/to-cat", ex -> redirect(ex, "/cat.png"));
        route("/to-multicast", ex -> redirect(ex, "http://224.0.0.1:" + host.getAddress().getPort() + "/cat.png"));
        route("/to-zero", ex -> redirect(ex, "http://0.0.0.0:" + host.getAddress().getPort() + "/cat.png"));
        route("/to-file", ex -> redirect(ex, "file:///etc/passwd"));
        route("/loop", ex -> redirect(ex, "/loop"));
        host.start();
        ServeOptions o = ServeOptions.defaults(ServeFixture.MODEL).withPort(0);
        publicOnly = new Server(ServeFixture.model(), false, null, o.withImageFetch(ImageFetch.on(ImageFetch.DEFAULT_MAX_BYTES, ImageFetch.DEFAULT_TIMEOUT_MS, false)));
        allowPrivate = new Server(ServeFixture.model(), false, null, o.withImageFetch(ImageFetch.on(MAX_BYTES, TIMEOUT_MS, true)));
    }

    @AfterAll static void stop() throws Exception {
        if (publicOnly != null) publicOnly.close();
        if (allowPrivate != null) allowPrivate.close();
        if (host != null) host.stop(0);
        if (hostPool != null) hostPool.shutdownNow();
    }

    static void route(String path, HttpHandler h) {
        host.createContext(path, ex -> {
            hits.incrementAndGet();
            try { h.handle(ex); } finally { ex.close(); }
        });
    }

    static void send(HttpExchange ex, int status, byte[] body, boolean chunked) throws IOException {
        ex.sendResponseHeaders(status, chunked ? 0 : body.length);
        try (OutputStream o = ex.getResponseBody()) { o.write(body); }
    }

    static void redirect(HttpExchange ex, String to) throws IOException {
        ex.getResponseHeaders().set("Location", to);
        ex.sendResponseHeaders(302, -1);
    }

    static HttpResponse<String> post(Server s, String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.baseUrl() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) b.header("Authorization", "Bearer " + key);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode ok(Server s, String path, String body) throws Exception {
        HttpResponse<String> r = post(s, path, body, null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return RequestJson.MAPPER.readTree(r.body());
    }

    /** 400 with this code; the error object. */
    static JsonNode bad(Server s, String body, String code) throws Exception {
        HttpResponse<String> r = post(s, "/v1/chat/completions", body, s == ServeFixture.server() ? ServeFixture.KEY : null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode e = RequestJson.MAPPER.readTree(r.body()).get("error");
        assertThat(e.get("code").asText()).as(r.body()).isEqualTo(code);
        assertThat(e.get("param").asText()).isEqualTo("messages[0].content[0].image_url");
        return e;
    }

    static String chat(String url) {
        return "{\"model\":\"m6j-test\",\"max_tokens\":6,\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\""
                + url + "\"}}]}]}";
    }

    static String embed(String url) {
        return "{\"model\":\"m6j-test\",\"input\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + url + "\"}}]}";
    }

    static String dataUrl() { return "data:image/png;base64," + Base64.getEncoder().encodeToString(png); }

    @Test void offByDefaultSaysHowToEnable() throws Exception {
        int before = hits.get();
        JsonNode e = bad(ServeFixture.server(), chat(base + "/cat.png"), "invalid_image_url");
        assertThat(e.get("message").asText()).contains("--fetch-images");
        bad(ServeFixture.server(), chat("HTTPS://example.com/cat.png"), "invalid_image_url");
        bad(ServeFixture.server(), chat("ftp://example.com/cat.png"), "invalid_image_url");
        assertThat(hits.get()).isEqualTo(before);
    }

    @Test void publicOnlyRefusesLoopbackPrivateAndMetadataBeforeConnecting() throws Exception {
        int before = hits.get();
        int port = host.getAddress().getPort();
        for (String u : new String[]{base + "/cat.png", "http://localhost:" + port + "/cat.png", "http://[::1]:" + port + "/cat.png",
                "http://[::ffff:127.0.0.1]:" + port + "/cat.png", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/a.png",
                "http://192.168.1.1/a.png", "http://100.64.0.1/a.png", "http://0.0.0.0:" + port + "/cat.png", "http://2130706433:" + port + "/cat.png"}) {
            JsonNode e = bad(publicOnly, chat(u), "image_url_forbidden");
            assertThat(e.get("message").asText()).as(u).contains("resolves to");
        }
        assertThat(bad(publicOnly, chat(base + "/cat.png"), "image_url_forbidden").get("message").asText()).contains("--fetch-allow-private");
        bad(publicOnly, chat("http://user:pw@example.com/cat.png"), "image_url_forbidden");
        assertThat(hits.get()).as("no request reached the image host").isEqualTo(before);
    }

    @Test void fetchedImageReadsLikeTheSameDataUrl() throws Exception {
        JsonNode viaData = ok(allowPrivate, "/v1/embeddings", embed(dataUrl())).at("/data/0/embedding");
        for (String path : new String[]{"/cat.png", "/chunked.png", "/to-cat"}) {
            JsonNode viaUrl = ok(allowPrivate, "/v1/embeddings", embed(base + path)).at("/data/0/embedding");
            assertThat(viaUrl).as(path).isEqualTo(viaData);
        }
        String caption = ok(allowPrivate, "/v1/chat/completions", chat(dataUrl())).at("/choices/0/message/content").asText();
        assertThat(ok(allowPrivate, "/v1/chat/completions", chat(base + "/cat.png")).at("/choices/0/message/content").asText()).isEqualTo(caption);
        JsonNode search = ok(allowPrivate, "/v1/classify", "{\"model\":\"m6j-test\",\"image\":\"" + base + "/cat.png\",\"labels\":[\"a\",\"b\"]}");
        assertThat(search.get("data").size()).isEqualTo(2);
    }

    @Test void oversizeRefusedDeclaredOrStreamed() throws Exception {
        assertThat(bad(allowPrivate, chat(base + "/declared-big"), "image_too_large").get("message").asText()).contains(String.valueOf(MAX_BYTES));
        bad(allowPrivate, chat(base + "/chunked-big"), "image_too_large");
    }

    @Test void slowServerGivesUpAtTheDeadline() throws Exception {
        long t0 = System.nanoTime();
        bad(allowPrivate, chat(base + "/slow"), "image_fetch_timeout");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ms).isBetween(TIMEOUT_MS - 100, TIMEOUT_MS + 2500);
    }

    @Test void redirectsAreCheckedAndBounded() throws Exception {
        bad(allowPrivate, chat(base + "/to-multicast"), "image_url_forbidden");
        bad(allowPrivate, chat(base + "/to-zero"), "image_url_forbidden");
        bad(allowPrivate, chat(base + "/to-file"), "image_url_forbidden");
        assertThat(bad(allowPrivate, chat(base + "/loop"), "image_fetch_failed").get("message").asText()).contains("redirects");
    }

    @Test void notAnImageOrNotThere() throws Exception {
        bad(allowPrivate, chat(base + "/text"), "invalid_image");
        assertThat(bad(allowPrivate, chat(base + "/missing"), "image_fetch_failed").get("message").asText()).contains("404");
        int dead;
        try (var s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) { dead = s.getLocalPort(); }
        bad(allowPrivate, chat("http://127.0.0.1:" + dead + "/x.png"), "image_fetch_failed");
        bad(allowPrivate, chat("http://no-such-host.invalid/x.png"), "image_fetch_failed");
        // and the server still answers
        assertThat(ok(allowPrivate, "/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"max_tokens\":2}").get("choices").size()).isEqualTo(1);
    }

    /**
     * https: a server on 127.0.0.1 whose self-signed certificate names only "localhost", trusted as the JVM's
     * default for this test. By name the fetch connects to the checked address and verifies the certificate
     * against the name (and sends it as SNI); by address the same certificate does not match, so it is refused.
     */
    @Test void httpsVerifiesTheUrlsHostName() throws Exception {
        Path dir = Path.of("target", "remote-image-tls");
        Files.createDirectories(dir);
        Path ks = dir.resolve("server-" + ProcessHandle.current().pid() + ".p12");
        Files.deleteIfExists(ks);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair", "-alias", "t",
                "-keyalg", "EC", "-dname", "CN=localhost", "-ext", "SAN=dns:localhost", "-validity", "2", "-storetype", "PKCS12",
                "-storepass", "changeit", "-keypass", "changeit", "-keystore", ks.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(ks)) { keys.load(in, "changeit".toCharArray()); }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, "changeit".toCharArray());
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("t", keys.getCertificate("t"));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext clientTls = SSLContext.getInstance("TLS");
        clientTls.init(null, tmf.getTrustManagers(), null);
        HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        https.setHttpsConfigurator(new HttpsConfigurator(serverTls));
        java.util.List<String> hostHeaders = new java.util.concurrent.CopyOnWriteArrayList<>();
        https.createContext("/cat.png", ex -> {
            hostHeaders.add(ex.getRequestHeaders().getFirst("Host"));
            try { send(ex, 200, png, false); } finally { ex.close(); }
        });
        https.start();
        SSLContext before = SSLContext.getDefault();
        SSLContext.setDefault(clientTls);
        try {
            int port = https.getAddress().getPort();
            JsonNode viaData = ok(allowPrivate, "/v1/embeddings", embed(dataUrl())).at("/data/0/embedding");
            assertThat(ok(allowPrivate, "/v1/embeddings", embed("https://localhost:" + port + "/cat.png")).at("/data/0/embedding")).isEqualTo(viaData);
            assertThat(hostHeaders).containsExactly("localhost:" + port);
            JsonNode e = bad(allowPrivate, chat("https://127.0.0.1:" + port + "/cat.png"), "image_fetch_failed");
            assertThat(hostHeaders).hasSize(1);
            assertThat(e.get("message").asText()).contains("127.0.0.1");   // no name in the certificate matches it
            SSLContext.setDefault(before);                               // the JVM's own trust: the self-signed one is not in it
            assertThat(bad(allowPrivate, chat("https://localhost:" + port + "/cat.png"), "image_fetch_failed").get("message").asText()).contains("PKIX");
            assertThat(hostHeaders).hasSize(1);
        } finally {
            SSLContext.setDefault(before);
            https.stop(0);
        }
    }

    /** `m6j serve`'s flags reach the policy: a process with a 1 KiB cap takes a small PNG and refuses the sample's. */
    @Test void serveFlags(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        try (ServeProcess p = new ServeProcess(tmp, List.of("-Xmx512m"), List.of("--fetch-images", "--fetch-allow-private",
                "--fetch-max-bytes", "1024", "--fetch-timeout", "2", "--model-id", ServeFixture.MODEL))) {
            assertThat(p.log.toString()).contains("(fetches image URLs, private addresses too)");
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(p.url + "/v1/embeddings")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(embed(base + "/tiny.png"))).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            r = HTTP.send(HttpRequest.newBuilder(URI.create(p.url + "/v1/embeddings")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(embed(base + "/cat.png"))).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
            assertThat(RequestJson.MAPPER.readTree(r.body()).at("/error/code").asText()).isEqualTo("image_too_large");
        }
    }

    @Test void policyIsValidated() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> new ImageFetch(false, ImageFetch.DEFAULT_MAX_BYTES, 5000, true));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ImageFetch.on(0, 5000, false));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ImageFetch.on(1L << 40, 5000, false));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ImageFetch.on(1 << 20, 0, false));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ServeOptions.defaults("m").withImageFetch(null));
        assertThat(ServeOptions.defaults("m").imageFetch()).isEqualTo(ImageFetch.OFF);
        assertThat(ImageFetch.OFF.enabled()).isFalse();
    }

    @Test void addressClasses() throws Exception {
        String[] refused = {"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254",
                "100.64.0.1", "100.127.255.254", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
                "2002:7f00:1::1", "::127.0.0.1"};
        String[] never = {"0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "::", "ff02::1"};
        String[] allowed = {"8.8.8.8", "172.32.0.1", "100.128.0.1", "93.184.216.34", "2001:4860:4860::8888", "2606:4700::1111"};
        for (String a : refused) {
            assertThat(ImageFetch.refused(InetAddress.getByName(a), false)).as(a).isNotNull();
            assertThat(ImageFetch.refused(InetAddress.getByName(a), true)).as(a).isNull();
        }
        for (String a : never) {
            assertThat(ImageFetch.refused(InetAddress.getByName(a), false)).as(a).startsWith("never");
            assertThat(ImageFetch.refused(InetAddress.getByName(a), true)).as(a).startsWith("never");
        }
        for (String a : allowed) assertThat(ImageFetch.refused(InetAddress.getByName(a), false)).as(a).isNull();
    }
}
