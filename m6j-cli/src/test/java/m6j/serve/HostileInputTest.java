package m6j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import m6j.infer.Engine;
import m6j.infer.EngineException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The attacks of a careful reader against the running server, each answered with a clear 4xx and nothing held:
 * image bombs (a 39 KB PNG declaring 39,999,999 x 1, a 280 KB 16-bit RGBA PNG of 6000 x 6000, TIFF), JSON
 * amplification and nesting, metrics label injection through the path, and a model-task queue that would grow
 * without bound. (HostileLoadTest runs them all at once against a real `m6j serve` process on a small heap.)
 */
class HostileInputTest {
    @BeforeAll static void start() throws Exception { ServeFixture.server(); }

    /** A valid PNG of w x h, all zeros (m6j.cli.BenchSoakCommand#png, which the soak sends too). */
    static byte[] png(int w, int h, int bitDepth, int colourType) throws IOException { return m6j.cli.BenchSoakCommand.png(w, h, bitDepth, colourType); }

    private static String embedImage(byte[] image) {
        return "{\"model\":\"m6j-test\",\"input\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,"
                + Base64.getEncoder().encodeToString(image) + "\"}}]}";
    }

    @Test void imageBombsAreRefusedFromTheHeaderOrSubsampledWhileDecoding() throws Exception {
        byte[] line = png(39_999_999, 1, 8, 0);
        assertThat(line.length).as("the bomb is small").isLessThan(100_000);
        JsonNode e = BadInputTest.bad("/v1/embeddings", embedImage(line), 400, "image_too_large");
        assertThat(e.path("message").asText()).contains("16384");

        byte[] deep = png(6000, 6000, 16, 6);
        assertThat(deep.length).isLessThan(1_000_000);
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        byte[] rgb = ImageInput.decode(deep, 32, "image");
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(rgb).hasSize(32 * 32 * 3);
        // whole, its 16-bit RGBA raster is 288 MB; subsampled at decode under 16 MiB
        assertThat(allocated).as("bytes allocated decoding a 6000 x 6000 16-bit RGBA PNG").isLessThan(64L << 20);
        assertThat(BadInputTest.post("/v1/embeddings", embedImage(deep), ServeFixture.KEY).statusCode()).isEqualTo(200);

        ByteArrayOutputStream tiff = new ByteArrayOutputStream();
        assertThat(ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB), "tiff", tiff)).isTrue();
        e = BadInputTest.bad("/v1/embeddings", embedImage(tiff.toByteArray()), 400, "invalid_image");
        assertThat(e.path("message").asText()).contains("not a PNG, JPEG, GIF, BMP or WebP");
    }

    /**
     * With every big-image decode permit held (image bombs in flight), a small image still decodes at once and a big
     * one waits for a permit (found by bench soak: image chats queued behind bombs).
     */
    @Test void smallImagesDoNotQueueBehindBigDecodes() throws Exception {
        byte[] small = png(64, 64, 8, 2), big = png(2000, 2000, 8, 2);
        assertThat(m6j.data.ImageFiles.declaredPixels(small)).isEqualTo(64 * 64);
        assertThat(m6j.data.ImageFiles.declaredPixels(big)).isEqualTo(2000L * 2000);
        assertThat(m6j.data.ImageFiles.declaredPixels("not an image".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1);
        int permits = ImageInput.DECODES.availablePermits();
        ImageInput.DECODES.acquire(permits);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            var s = pool.submit(() -> ImageInput.decode(small, 32, "image"));
            var b = pool.submit(() -> ImageInput.decode(big, 32, "image"));
            assertThat(s.get(10, java.util.concurrent.TimeUnit.SECONDS)).hasSize(32 * 32 * 3);
            Thread.sleep(500);
            assertThat(b.isDone()).as("a big image waits for a big-decode permit").isFalse();
            ImageInput.DECODES.release(permits);
            permits = 0;
            assertThat(b.get(30, java.util.concurrent.TimeUnit.SECONDS)).hasSize(32 * 32 * 3);
        } finally {
            ImageInput.DECODES.release(permits);
            pool.shutdownNow();
        }
    }

    @Test void jsonAmplificationAndNestingAreRefusedWhileParsing() throws Exception {
        StringBuilder b = new StringBuilder("{\"model\":\"m6j-test\",\"input\":[{}");
        while (b.length() < 900_000) b.append(",{}");                       // under the fixture's 1 MiB body limit
        BadInputTest.bad("/v1/embeddings", b.append("]}").toString(), 413, "request_too_complex");
        String nested = "{\"model\":\"m6j-test\",\"input\":" + "[".repeat(100) + "]".repeat(100) + "}";
        BadInputTest.bad("/v1/embeddings", nested, 413, "request_too_complex");
        assertThat(BadInputTest.post("/v1/embeddings", "{\"model\":\"m6j-test\",\"input\":\"a shirt\"}", ServeFixture.KEY).statusCode()).isEqualTo(200);
    }

    /**
     * A body declared far past the limit (1 GiB) whose bytes never come: refused from its header at once. It used to be
     * drained first, which waited for the missing bytes until the request time limit (30 s) and then closed the
     * connection without an answer, holding a handler thread all that time (found by `m6j bench soak`).
     */
    @Test void aBodyDeclaredFarPastTheLimitIsRefusedAtOnce() throws Exception {
        URI u = URI.create(ServeFixture.server().baseUrl());
        try (java.net.Socket s = new java.net.Socket(u.getHost(), u.getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ServeFixture.KEY
                    + "\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{\"model\":\"m6j-test\",\"input\":\"")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            long t0 = System.nanoTime();
            byte[] head = s.getInputStream().readNBytes(12);
            assertThat(new String(head, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 413");
            assertThat((System.nanoTime() - t0) / 1e9).as("seconds to the answer").isLessThan(5);
        }
        assertThat(BadInputTest.post("/v1/embeddings", "{\"model\":\"m6j-test\",\"input\":\"a shirt\"}", ServeFixture.KEY).statusCode()).isEqualTo(200);
    }

    @Test void pathsNeverBecomeMetricLabels() throws Exception {
        String evil = "/v1/models/x%22%7D%201%0Ainjected_metric%201%0A";
        var withKey = HttpRequest.newBuilder(URI.create(ServeFixture.server().baseUrl() + evil)).header("Authorization", "Bearer " + ServeFixture.KEY).build();
        assertThat(BadInputTest.HTTP.send(withKey, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
        var noKey = HttpRequest.newBuilder(URI.create(ServeFixture.server().baseUrl() + "/v1/anything%0Ainjected_metric%202")).build();
        assertThat(BadInputTest.HTTP.send(noKey, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        String metrics = ServeFixture.server().metrics.render();
        for (long end = System.currentTimeMillis() + 5_000; !metrics.contains("path=\"other\",status=\"401\"") && System.currentTimeMillis() < end; ) {
            Thread.sleep(20);                           // a request is counted just after its reply is sent
            metrics = ServeFixture.server().metrics.render();
        }
        assertThat(metrics).doesNotContain("\ninjected_metric");
        Matcher m = Pattern.compile("path=\"([^\"]*)\"").matcher(metrics);
        java.util.List<String> labels = new java.util.ArrayList<>(Server.ROUTES);
        labels.add("other");
        while (m.find()) assertThat(m.group(1)).isIn(labels);
        assertThat(metrics).contains("m6j_requests_total{path=\"/v1/models/{id}\",status=\"404\"}").contains("m6j_requests_total{path=\"other\",status=\"401\"}");
        Metrics escaped = new Metrics();               // label values the client library writes: escaped by it
        escaped.served("a\"b\\c\nd", List.of("a\"b\\c\nd"), List.of());
        assertThat(escaped.render()).contains("model=\"a\\\"b\\\\c\\nd\"").doesNotContain("c\nd");
    }

    @Test void modelTasksQueueNoFurtherThanRequests() throws Exception {
        var l = ServeFixture.model();
        try (Engine engine = new Engine(l.model(), l.tokenizer(), new Engine.Options(4, 2, 60_000), Engine.Stats.NONE)) {
            CountDownLatch started = new CountDownLatch(1), hold = new CountDownLatch(1);
            Thread busy = new Thread(() -> {
                try { engine.call(() -> { started.countDown(); hold.await(); return null; }); } catch (Exception ignored) { }
            });
            busy.start();
            started.await();
            Thread[] queued = new Thread[2];
            for (int i = 0; i < queued.length; i++) {
                queued[i] = new Thread(() -> { try { engine.call(() -> null); } catch (Exception ignored) { } });
                queued[i].start();
            }
            long end = System.currentTimeMillis() + 10_000;
            while (engine.tasksWaiting() < 2 && System.currentTimeMillis() < end) Thread.sleep(10);
            boolean refused = false;
            try {
                engine.call(() -> null);
            } catch (EngineException x) {
                refused = x.kind == EngineException.Kind.BUSY;
            }
            hold.countDown();
            busy.join();
            for (Thread t : queued) t.join();
            assertThat(refused).as("a third task while two wait is refused (429), not queued").isTrue();
            assertThat(engine.call(() -> 42)).isEqualTo(42);
        }
    }
}
