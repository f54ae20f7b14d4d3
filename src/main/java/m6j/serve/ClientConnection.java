package m6j.serve;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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

    /** True when the kernel shows the listening socket on local's port but no established connection from remote's port to it. */
    static boolean gone(InetSocketAddress local, InetSocketAddress remote) {
        if (local == null || remote == null) return false;
        boolean listening = false, seen = false;
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
                if (f.length < 4 || port(f[1]) != local.getPort()) continue;
                int state = Integer.parseInt(f[3], 16);
                if (state == LISTEN) listening = true;
                else if (port(f[2]) == remote.getPort()) {
                    if (state == ESTABLISHED) return false;
                    seen = true;
                }
            }
        }
        return listening || seen;
    }

    private static int port(String address) {
        int colon = address.lastIndexOf(':');
        return colon < 0 ? -1 : Integer.parseInt(address.substring(colon + 1), 16);
    }
}
