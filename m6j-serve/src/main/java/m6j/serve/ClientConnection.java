package m6j.serve;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether a client still holds its TCP connection to the server. The JDK HttpServer tells a handler nothing
 * when its client goes away until a write fails, and a non-streaming request writes only at the end. The
 * kernel knows at once: the server's side of the connection goes to CLOSE_WAIT when the client's FIN arrives,
 * and leaves the socket table on a reset. This reads that table (/proc/net/tcp and tcp6, Linux). Where it
 * cannot be read, or does not even list the server's listening socket, a client counts as connected, and
 * requests run to their end as they would without this check.
 */
final class ClientConnection {
    private static final List<Path> TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));
    private static final int ESTABLISHED = 0x01, LISTEN = 0x0A;

    private ClientConnection() {}

    /** Thrown where a handler finds its client gone: the server answers nothing and counts the request as 499. */
    static final class Gone extends IOException {
        Gone() { super("client closed the connection"); }
    }

    /** How often a handler that waits for model work looks at its connection. */
    static final long POLL_MS = 100;

    /**
     * One reading of the socket tables: the listening ports, and each connection's state by (local, remote) port.
     * Shared by every waiting handler: the tables are read at most once per POLL_MS whatever the number of
     * requests (reading them per request cost requests x connections).
     */
    record Snapshot(Set<Integer> listening, Map<Long, Integer> states, long at) {
        /** The kernel lists the server but not an established connection from remote. */
        boolean gone(int local, int remote) {
            if (!listening.contains(local) && !states.containsKey(key(local, remote))) return false;  // cannot tell
            return states.getOrDefault(key(local, remote), -1) != ESTABLISHED;
        }
    }

    private static Snapshot last, previous;
    static final AtomicLong READS = new AtomicLong();

    /**
     * True when the latest two readings (POLL_MS apart), both begun after {@code since} (a System.nanoTime() at
     * which the connection was known to exist, e.g. when its request arrived), show no established connection from
     * remote to local. A reading from before the connection existed does not list it and proves nothing: shared
     * readings up to POLL_MS old once made every new request look gone. One reading is not enough either:
     * /proc/net/tcp is not read atomically, and while sockets open and close an entry can be missed.
     */
    static boolean gone(InetSocketAddress local, InetSocketAddress remote, long since) {
        if (local == null || remote == null) return false;
        Snapshot[] s = snapshots(since);
        return s[0].at() - since > 0 && s[0].gone(local.getPort(), remote.getPort()) && s[1].gone(local.getPort(), remote.getPort());
    }

    /**
     * {previous, latest}, refreshed when the latest is POLL_MS old or older than {@code since} (at most one extra
     * reading per new connection); a stale previous is read again at once.
     */
    private static synchronized Snapshot[] snapshots(long since) {
        long now = System.nanoTime();
        if (last == null || now - last.at() >= POLL_MS * 1_000_000 || last.at() - since <= 0) {
            previous = last != null && now - last.at() < 3 * POLL_MS * 1_000_000 ? last : read();
            last = read();
        }
        return new Snapshot[]{previous, last};
    }

    private static Snapshot read() {
        READS.incrementAndGet();
        long at = System.nanoTime();                    // the start: a connection made during the reading may be missed
        Set<Integer> listening = new HashSet<>();
        Map<Long, Integer> states = new HashMap<>();
        for (Path table : TABLES) {
            List<String> lines;
            try {
                lines = Files.readAllLines(table);
            } catch (IOException | SecurityException e) {
                continue;
            }
            for (int i = 1; i < lines.size(); i++) {
                // "  sl  local_address rem_address   st ...": addresses as HEXIP:HEXPORT, state in hex
                String[] f = lines.get(i).trim().split("\\s+", 5);
                if (f.length < 4) continue;
                int lp = port(f[1]), state = Integer.parseInt(f[3], 16);
                if (state == LISTEN) listening.add(lp);
                else states.merge(key(lp, port(f[2])), state, (a, b) -> a == ESTABLISHED ? a : b);
            }
        }
        return new Snapshot(listening, states, at);
    }

    private static long key(int local, int remote) { return ((long) local << 16) | (remote & 0xffff); }

    private static int port(String address) {
        int colon = address.lastIndexOf(':');
        return colon < 0 ? -1 : Integer.parseInt(address.substring(colon + 1), 16);
    }
}
