package m6j.serve;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A client that closes its connection cancels its request: queued work never runs, the server goes on. */
class DisconnectTest {
    @BeforeAll static void linux() {
        assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "no kernel socket table here (not Linux): disconnects go unnoticed");
    }

    @Test void kernelSocketTableShowsAClosedOrResetClient() throws Exception {
        try (ServerSocket listen = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            for (boolean reset : new boolean[]{false, true}) {
                Socket client = new Socket(InetAddress.getLoopbackAddress(), listen.getLocalPort());
                try (Socket side = listen.accept()) {
                    var local = (InetSocketAddress) side.getLocalSocketAddress();
                    var remote = (InetSocketAddress) side.getRemoteSocketAddress();
                    long since = System.nanoTime();
                    // the second pass asks within POLL_MS of the first pass's readings, which predate this connection
                    assertThat(ClientConnection.gone(local, remote, since)).as("connected, reset=" + reset).isFalse();
                    if (reset) client.setSoLinger(true, 0);     // close with RST instead of FIN
                    client.close();
                    assertThat(within(5_000, () -> ClientConnection.gone(local, remote, since))).as("gone after close, reset=" + reset).isTrue();
                }
            }
        }
    }

    @Test void queuedCompletionOfAGoneClientIsDroppedUnrun() throws Exception {
        Server server = ServeFixture.server();
        CountDownLatch hold = new CountDownLatch(1);
        Thread holder = holdScheduler(server, hold);
        try {
            double generated = metric(server, "m6j_generated_tokens_total"), cancelled = metric(server, "m6j_cancelled_total");
            double gone = metric(server, "m6j_requests_total\\{path=\"/v1/completions\",status=\"499\"\\}");
            double byReason = metric(server, "m6j_generations_total\\{finish_reason=\"cancelled\"\\}");
            try (Socket c = send(server, "/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"max_tokens\":20,\"n\":2}")) {
                assertThat(within(10_000, () -> metric(server, "m6j_queue_depth") == 2)).as("both choices queued").isTrue();
            }                                                   // the client leaves while its sequences wait
            assertThat(within(10_000, () -> metric(server, "m6j_requests_total\\{path=\"/v1/completions\",status=\"499\"\\}") == gone + 1))
                    .as("the handler noticed and gave up").isTrue();
            hold.countDown();
            assertThat(within(10_000, () -> metric(server, "m6j_queue_depth") == 0 && metric(server, "m6j_cancelled_total") == cancelled + 2)).isTrue();
            assertThat(metric(server, "m6j_generated_tokens_total")).as("no token generated for it").isEqualTo(generated);
            assertThat(metric(server, "m6j_generations_total\\{finish_reason=\"cancelled\"\\}")).as("finish reason cancelled").isEqualTo(byReason + 2);
        } finally {
            hold.countDown();
            holder.join();
        }
        assertThat(BadInputTest.post("/v1/completions", "{\"model\":\"m6j-test\",\"prompt\":\"The\",\"max_tokens\":2}", ServeFixture.KEY).statusCode())
                .isEqualTo(200);
    }

    /** A stream whose client leaves after its 200 header is counted 499 (it never got its answer), not 200. */
    @Test void aStreamWhoseClientLeavesCounts499() throws Exception {
        Server server = ServeFixture.server();
        CountDownLatch hold = new CountDownLatch(1);
        Thread holder = holdScheduler(server, hold);
        String gone = "m6j_requests_total\\{path=\"/v1/chat/completions\",status=\"499\"\\}", ok = gone.replace("499", "200");
        double before = metric(server, gone), okBefore = metric(server, ok);
        try {
            try (Socket c = send(server, "/v1/chat/completions", "{\"model\":\"m6j-test\",\"stream\":true,\"max_tokens\":40,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"The\"}]}")) {
                byte[] head = new byte[12];
                int n = c.getInputStream().readNBytes(head, 0, 12);
                assertThat(new String(head, 0, n, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
            }                                                   // gone after the header, before any token
            hold.countDown();
            assertThat(within(10_000, () -> metric(server, gone) == before + 1)).as("counted 499").isTrue();
            assertThat(metric(server, ok)).as("not counted 200").isEqualTo(okBefore);
        } finally {
            hold.countDown();
            holder.join();
        }
    }

    @Test void queuedImageGenerationOfAGoneClientNeverRuns() throws Exception {
        Server server = ServeFixture.server();
        CountDownLatch hold = new CountDownLatch(1);
        Thread holder = holdScheduler(server, hold);
        try {
            double cancelled = metric(server, "m6j_cancelled_total");
            double gone = metric(server, "m6j_requests_total\\{path=\"/v1/images/generations\",status=\"499\"\\}");
            send(server, "/v1/images/generations", "{\"prompt\":\"a shirt\",\"n\":4}").close();
            assertThat(within(10_000, () -> metric(server, "m6j_requests_total\\{path=\"/v1/images/generations\",status=\"499\"\\}") == gone + 1))
                    .isTrue();
            double generated = metric(server, "m6j_generated_tokens_total");
            assertThat(metric(server, "m6j_cancelled_total")).as("the 4 queued image requests were withdrawn").isEqualTo(cancelled + 4);
            hold.countDown();
            Thread.sleep(300);
            assertThat(metric(server, "m6j_generated_tokens_total")).as("no code drawn for them").isEqualTo(generated);
        } finally {
            hold.countDown();
            holder.join();
        }
    }

    /** Keeps the model thread busy until hold opens, so that whatever is submitted meanwhile waits. */
    static Thread holdScheduler(Server server, CountDownLatch hold) throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                server.engine.call(() -> { started.countDown(); hold.await(); return null; });
            } catch (Exception ignored) {
                // the test fails on its own assertions
            }
        });
        t.start();
        started.await();
        return t;
    }

    static Socket send(Server server, String path, String json) throws Exception {
        Socket c = new Socket(InetAddress.getLoopbackAddress(), server.port());
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        OutputStream o = c.getOutputStream();
        o.write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + ServeFixture.KEY
                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        o.write(body);
        o.flush();
        return c;
    }

    static double metric(Server server, String name) { return MetricsTest.metric(server.metrics.render(), name); }

    /** True once condition holds, polled until ms have passed. */
    static boolean within(long ms, BooleanSupplier condition) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < end) {
            if (condition.getAsBoolean()) return true;
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }
}
