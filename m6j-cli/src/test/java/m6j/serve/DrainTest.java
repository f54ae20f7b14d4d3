package m6j.serve;

import m6j.infer.Engine;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shutting down (SIGTERM runs this through `m6j serve`'s shutdown hook) drains: a request in flight when close()
 * begins is answered in full, one arriving meanwhile gets 503 shutting_down, and close() returns once they are done.
 */
class DrainTest {
    @Test void closeLetsInFlightRequestsFinishAndRefusesNewOnes() throws Exception {
        var l = ServeFixture.model();
        Server server = new Server(l, false, null, ServeOptions.defaults("drain").withPort(0).withEngine(new Engine.Options(4, 16, 60_000)));
        HttpClient http = HttpClient.newHttpClient();
        String body = "{\"model\":\"drain\",\"prompt\":\"The\",\"max_tokens\":8}";
        HttpRequest req = HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(body)).build();
        CountDownLatch started = new CountDownLatch(1), hold = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            try { server.engine.call(() -> { started.countDown(); hold.await(); return null; }); } catch (Exception ignored) { }
        });
        holder.start();
        started.await();                                            // the engine is busy: the next request waits in flight
        CompletableFuture<HttpResponse<String>> inFlight = http.sendAsync(req, HttpResponse.BodyHandlers.ofString());
        long end = System.currentTimeMillis() + 10_000;
        while (server.engine.queued() == 0 && System.currentTimeMillis() < end) Thread.sleep(10);
        assertThat(server.engine.queued()).as("the request is queued").isEqualTo(1);
        CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> { try { server.close(); } catch (Exception e) { throw new RuntimeException(e); } });
        Thread.sleep(500);
        assertThat(closing).as("close waits for the request in flight").isNotDone();
        hold.countDown();                                           // the engine goes on; the queued request is served
        HttpResponse<String> r = inFlight.get(30, TimeUnit.SECONDS);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("\"finish_reason\"");
        closing.get(60, TimeUnit.SECONDS);
        holder.join();
        try {
            HttpResponse<String> late = http.send(req, HttpResponse.BodyHandlers.ofString());
            assertThat(late.statusCode()).isEqualTo(503);
        } catch (java.io.IOException refused) {
            // the listening socket is closed once drained: refused is the other right answer
        }
        assertThat(List.of(server.engine.failure())).containsExactly("stopped");
    }
}
