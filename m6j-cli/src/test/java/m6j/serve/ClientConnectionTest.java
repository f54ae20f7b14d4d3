package m6j.serve;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The kernel's view of a client connection, on real loopback sockets: a connected client is not gone however many
 * handlers ask at once (and they share one reading of the socket table per interval), a closed one is seen as gone
 * within two intervals.
 */
class ClientConnectionTest {
    @Test void manyWaitersShareOneReadingAndAClosedClientIsSeenGone() throws Exception {
        try (ServerSocket server = new ServerSocket(0)) {
            Socket client = new Socket("127.0.0.1", server.getLocalPort());
            try (Socket accepted = server.accept()) {
                InetSocketAddress local = (InetSocketAddress) accepted.getLocalSocketAddress(),
                        remote = (InetSocketAddress) accepted.getRemoteSocketAddress();
                long since = System.nanoTime();
                Thread.sleep(2 * ClientConnection.POLL_MS);
                long before = ClientConnection.READS.get(), t0 = System.nanoTime();
                ExecutorService pool = Executors.newFixedThreadPool(16);
                List<Future<Boolean>> asks = new ArrayList<>();
                for (int i = 0; i < 400; i++) asks.add(pool.submit(() -> ClientConnection.gone(local, remote, since)));
                for (Future<Boolean> f : asks) assertThat(f.get()).as("a connected client").isFalse();
                pool.shutdown();
                long reads = ClientConnection.READS.get() - before, intervals = (System.nanoTime() - t0) / 1_000_000 / ClientConnection.POLL_MS;
                // at most two readings per interval, however many ask (per-request reading would be 400 or more)
                assertThat(reads).as("table readings for 400 questions in %d intervals", intervals).isLessThanOrEqualTo(2 * (intervals + 1));
                client.close();
                boolean seen = false;
                for (int i = 0; i < 30 && !seen; i++) {
                    Thread.sleep(ClientConnection.POLL_MS);
                    seen = ClientConnection.gone(local, remote, since);
                }
                assertThat(seen).as("closed client seen gone").isTrue();
            }
        }
    }
}
