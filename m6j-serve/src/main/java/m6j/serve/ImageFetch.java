package m6j.serve;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Whether and how the server fetches http(s) image URLs: off unless `m6j serve --fetch-images`. On, a fetch
 * resolves the host once and refuses it when any of its addresses is not public unicast (loopback, private,
 * link-local such as cloud metadata at 169.254.169.254, CGNAT, unique-local; allowPrivate admits those, never
 * any-local, multicast, broadcast or reserved); connects to the very address it checked (no second lookup, so no
 * DNS rebinding between check and connect; TLS still verifies the certificate against the URL's host name);
 * follows at most {@link #MAX_REDIRECTS} redirects, each target checked the same way; refuses a declared length
 * over maxBytes before reading and stops reading a body past it; and gives up after timeoutMs in all (lookup,
 * connects, TLS, every read). The bytes then go through {@link ImageInput#decode} like a data: URL's.
 *
 * <p>HTTP/1.1 is spoken over the socket here rather than through java.net.http.HttpClient: that client resolves
 * host names itself (a second lookup an attacker's DNS can answer differently) and cannot be pointed at an address
 * while keeping the URL's host for Host, SNI and certificate checks.
 */
public record ImageFetch(boolean enabled, long maxBytes, long timeoutMs, boolean allowPrivate) {
    public static final long DEFAULT_MAX_BYTES = 8L << 20, DEFAULT_TIMEOUT_MS = 5_000;
    public static final int MAX_REDIRECTS = 3;
    /**
     * Heap, in KiB, that fetches in flight may hold across all requests: an eighth of the heap, each fetch reserving
     * twice its maxBytes (a growing buffer and its copy) up front; more fetches wait, until their deadline.
     */
    static final int BUDGET_KIB = (int) Math.max(4096, Math.min(Integer.MAX_VALUE, Runtime.getRuntime().maxMemory() / 8 / 1024));
    private static final Semaphore BUDGET = new Semaphore(BUDGET_KIB);
    public static final ImageFetch OFF = new ImageFetch(false, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_MS, false);
    private static final int MAX_HEADER_BYTES = 32 << 10;
    /**
     * Host name lookups, on their own threads so a slow resolver cannot outlast the deadline; at most 32 at once
     * (a lookup given up on still holds its thread until the resolver answers).
     */
    private static final ThreadPoolExecutor LOOKUPS = new ThreadPoolExecutor(0, 32, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
        Thread t = new Thread(r, "m6j-image-lookup");
        t.setDaemon(true);
        return t;
    });

    public ImageFetch {
        if (maxBytes < 1024 || maxBytes > (256L << 20)) throw new IllegalArgumentException("--fetch-max-bytes must be in 1024..268435456");
        if (timeoutMs < 100 || timeoutMs > 120_000) throw new IllegalArgumentException("--fetch-timeout must be in 0.1..120 seconds");
        if (allowPrivate && !enabled) throw new IllegalArgumentException("--fetch-allow-private needs --fetch-images");
    }

    /** Fetching on, with these limits. */
    public static ImageFetch on(long maxBytes, long timeoutMs, boolean allowPrivate) { return new ImageFetch(true, maxBytes, timeoutMs, allowPrivate); }

    /** The body of a 200 answer to GET url (http or https), within the limits; 400 (429 when too many are in flight) otherwise. */
    byte[] get(String url, String param) {
        if (!enabled) throw ApiError.invalid(param, "invalid_image_url",
                "This server does not fetch remote images (start it with 'm6j serve --fetch-images' to allow http(s) image URLs); send the image as a data: URL.");
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        URI uri = check(url, param);
        int kib = (int) Math.min(BUDGET_KIB, 2 * ((maxBytes + 1023) >> 10));
        try {
            if (!BUDGET.tryAcquire(kib, timeoutMs, TimeUnit.MILLISECONDS))
                throw new ApiError(429, "rate_limit_exceeded", "image_fetch_busy", param, "Too many remote images are being fetched; retry shortly.", 1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failed(param, "interrupted");
        }
        try {
            for (int hop = 0; ; hop++) {
                Answer a = once(uri, deadline, param);
                if (a.location == null) return a.body;
                if (hop == MAX_REDIRECTS) throw failed(param, "more than " + MAX_REDIRECTS + " redirects (last to "
                        + (a.location.length() > 200 ? a.location.substring(0, 200) + "..." : a.location) + ")");
                URI next;
                try {
                    next = uri.resolve(new URI(a.location));
                } catch (URISyntaxException | IllegalArgumentException e) {
                    throw failed(param, "redirect to an invalid URL");
                }
                uri = check(next.toString(), param);
            }
        } finally {
            BUDGET.release(kib);
        }
    }

    /** http(s), a host, no user info. */
    private static URI check(String url, String param) {
        URI u;
        try {
            u = new URI(url);
        } catch (URISyntaxException e) {
            throw ApiError.invalid(param, "invalid_image_url", "Image URL is not a valid URL: " + e.getReason() + ".");
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https"))
            throw forbidden(param, "only http and https image URLs are fetched, not '" + scheme + ":'");
        if (u.getRawUserInfo() != null) throw forbidden(param, "image URLs must not carry user info");
        if (u.getHost() == null || u.getHost().isEmpty()) throw ApiError.invalid(param, "invalid_image_url", "Image URL has no host.");
        if (u.getPort() == 0 || u.getPort() > 65535) throw forbidden(param, "port " + u.getPort());
        return u;
    }

    /** A redirect's Location, or the body of a 200. */
    private record Answer(String location, byte[] body) {}

    private Answer once(URI uri, long deadline, String param) {
        boolean tls = uri.getScheme().equalsIgnoreCase("https");
        String host = uri.getHost();
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port = uri.getPort() != -1 ? uri.getPort() : tls ? 443 : 80;
        InetAddress[] addrs = resolve(host, deadline, param);
        for (InetAddress a : addrs) {
            String why = refused(a, allowPrivate);
            if (why != null) throw forbidden(param, "'" + host + "' resolves to " + a.getHostAddress() + ", " + why
                    + (allowPrivate || why.startsWith("never") ? "" : " (start the server with --fetch-allow-private to allow such addresses)"));
        }
        IOException last = null;
        for (InetAddress a : addrs) {
            Socket raw = new Socket(Proxy.NO_PROXY);                  // straight to the address checked
            try {
                raw.connect(new InetSocketAddress(a, port), remaining(deadline, param));
            } catch (SocketTimeoutException e) {
                close(raw);
                throw timedOut(param);
            } catch (IOException e) {
                close(raw);
                last = e;
                continue;
            }
            try (Socket s = tls ? tls(raw, host, port, deadline, param) : raw) {
                return exchange(s, uri, host, port, tls, deadline, param);
            } catch (SocketTimeoutException e) {
                throw timedOut(param);
            } catch (IOException e) {
                throw failed(param, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            } finally {
                close(raw);
            }
        }
        throw failed(param, "could not connect to " + host + ":" + port + (last == null || last.getMessage() == null ? "" : " (" + last.getMessage() + ")"));
    }

    private static InetAddress[] resolve(String host, long deadline, String param) {
        Future<InetAddress[]> f;
        try {
            f = LOOKUPS.submit(() -> InetAddress.getAllByName(host));
        } catch (RejectedExecutionException e) {
            throw new ApiError(429, "rate_limit_exceeded", "image_fetch_busy", param, "Too many image hosts are being looked up; retry shortly.", 1);
        }
        try {
            InetAddress[] a = f.get(remaining(deadline, param), TimeUnit.MILLISECONDS);
            if (a.length == 0) throw failed(param, "'" + host + "' has no address");
            return a;
        } catch (TimeoutException e) {
            f.cancel(true);
            throw timedOut(param);
        } catch (ExecutionException e) {
            throw failed(param, e.getCause() instanceof UnknownHostException ? "unknown host '" + host + "'" : "cannot resolve '" + host + "'");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failed(param, "interrupted");
        }
    }

    /** TLS over the connected socket, verifying the certificate against the URL's host name (not the address). */
    private static Socket tls(Socket raw, String host, int port, long deadline, String param) throws IOException {
        SSLSocket s;
        try {
            s = (SSLSocket) SSLContext.getDefault().getSocketFactory().createSocket(raw, host, port, true);
        } catch (NoSuchAlgorithmException e) {
            throw new IOException("no TLS", e);
        }
        SSLParameters p = s.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        if (!isLiteral(host)) p.setServerNames(List.of(new SNIHostName(host)));
        s.setSSLParameters(p);
        s.setSoTimeout(remaining(deadline, param));
        s.startHandshake();
        return s;
    }

    private static boolean isLiteral(String host) { return host.contains(":") || host.matches("[0-9.]+"); }

    private Answer exchange(Socket s, URI uri, String host, int port, boolean tls, long deadline, String param) throws IOException {
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        if (uri.getRawQuery() != null) path += "?" + uri.getRawQuery();
        String hostHeader = (host.contains(":") ? "[" + host + "]" : host) + (port == (tls ? 443 : 80) ? "" : ":" + port);
        OutputStream out = s.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + hostHeader + "\r\nUser-Agent: m6j\r\nAccept: image/*\r\n"
                + "Accept-Encoding: identity\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = new BufferedInputStream(new Deadline(s, deadline, param), 8192);
        int status;
        Map<String, String> h;
        do {
            String statusLine = line(in, param);
            String[] f = statusLine.split(" ", 3);
            if (f.length < 2 || !f[0].startsWith("HTTP/1.") || !f[1].matches("[1-5][0-9][0-9]")) throw failed(param, "not an HTTP/1.x answer");
            status = Integer.parseInt(f[1]);
            h = headers(in, param);
        } while (status / 100 == 1);
        if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
            String loc = h.get("location");
            if (loc == null || loc.isBlank()) throw failed(param, "HTTP " + status + " without a Location");
            return new Answer(loc.trim(), null);
        }
        if (status != 200) throw failed(param, "the server answered HTTP " + status);
        String te = h.get("transfer-encoding");
        if (te != null && !te.trim().equalsIgnoreCase("chunked")) throw failed(param, "unsupported Transfer-Encoding '" + te + "'");
        if (te != null) return new Answer(null, chunked(in, param));
        String cl = h.get("content-length");
        if (cl != null) {
            long n;
            try {
                n = Long.parseLong(cl.trim());
            } catch (NumberFormatException e) {
                throw failed(param, "invalid Content-Length");
            }
            if (n < 0) throw failed(param, "invalid Content-Length");
            if (n > maxBytes) throw tooLarge(param);
            byte[] b = in.readNBytes((int) n);
            if (b.length < n) throw failed(param, "the body ended after " + b.length + " of " + n + " bytes");
            return new Answer(null, b);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        copy(in, body, Long.MAX_VALUE, param);
        return new Answer(null, body.toByteArray());
    }

    private byte[] chunked(InputStream in, String param) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String l = line(in, param);
            int semi = l.indexOf(';');
            String hex = (semi < 0 ? l : l.substring(0, semi)).trim();
            if (!hex.matches("[0-9a-fA-F]{1,15}")) throw failed(param, "invalid chunk size");
            long n = Long.parseLong(hex, 16);
            if (n == 0) break;
            if (body.size() + n > maxBytes) throw tooLarge(param);
            if (copy(in, body, n, param) < n) throw failed(param, "the body ended inside a chunk");
            if (!line(in, param).isEmpty()) throw failed(param, "invalid chunk");
        }
        headers(in, param);                                           // trailers
        return body.toByteArray();
    }

    /** Up to n bytes of in to out, 400 image_too_large as soon as out would pass maxBytes. */
    private long copy(InputStream in, ByteArrayOutputStream out, long n, String param) throws IOException {
        byte[] buf = new byte[8192];
        long done = 0;
        while (done < n) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n - done));
            if (r < 0) break;
            if (out.size() + r > maxBytes) throw tooLarge(param);
            out.write(buf, 0, r);
            done += r;
        }
        return done;
    }

    private static Map<String, String> headers(InputStream in, String param) throws IOException {
        Map<String, String> h = new HashMap<>();
        int total = 0;
        for (String l; !(l = line(in, param)).isEmpty(); ) {
            total += l.length();
            if (total > MAX_HEADER_BYTES) throw failed(param, "headers over " + MAX_HEADER_BYTES + " bytes");
            int c = l.indexOf(':');
            if (c <= 0) throw failed(param, "invalid header line");
            String k = l.substring(0, c).trim().toLowerCase(Locale.ROOT), v = l.substring(c + 1).trim();
            String old = h.put(k, v);
            if (old != null && k.equals("content-length") && !old.equals(v)) throw failed(param, "conflicting Content-Length");
            if (old != null && k.equals("transfer-encoding")) h.put(k, old + ", " + v);
        }
        return h;
    }

    /** One CRLF- (or LF-) ended line, at most MAX_HEADER_BYTES. */
    private static String line(InputStream in, String param) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) throw failed(param, "the connection closed mid-answer");
            if (b.length() >= MAX_HEADER_BYTES) throw failed(param, "header line over " + MAX_HEADER_BYTES + " bytes");
            b.append((char) c);
        }
        int n = b.length();
        return n > 0 && b.charAt(n - 1) == '\r' ? b.substring(0, n - 1) : b.toString();
    }

    /** The socket's input, each read bounded by what is left of the deadline (so a trickle cannot outlast it). */
    private static final class Deadline extends InputStream {
        private final Socket s;
        private final InputStream in;
        private final long deadline;
        private final String param;

        Deadline(Socket s, long deadline, String param) throws IOException {
            this.s = s;
            this.in = s.getInputStream();
            this.deadline = deadline;
            this.param = param;
        }

        @Override public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 255;
        }

        @Override public int read(byte[] b, int off, int len) throws IOException {
            s.setSoTimeout(remaining(deadline, param));
            return in.read(b, off, len);
        }
    }

    /** Milliseconds left (at least 1), or 400 image_fetch_timeout when none are. */
    private static int remaining(long deadline, String param) {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (ms <= 0) throw timedOut(param);
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
        }
    }

    /**
     * Why the server will not connect to a, or null when it may: never any-local, multicast, broadcast or reserved
     * (0/8, 240/4); loopback, private, link-local, CGNAT and unique-local only when allowPrivate. IPv6 forms that
     * carry an IPv4 address (mapped, compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that address.
     */
    static String refused(InetAddress a, boolean allowPrivate) {
        if (a instanceof Inet6Address) {
            byte[] b = a.getAddress();
            byte[] v4 = embeddedV4(b);
            if (v4 != null) {
                try {
                    return refused(InetAddress.getByAddress(v4), allowPrivate);
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
            if (a.isAnyLocalAddress()) return "never fetched: the unspecified address";
            if (a.isMulticastAddress()) return "never fetched: a multicast address";
            if (allowPrivate) return null;
            if (a.isLoopbackAddress()) return "a loopback address";
            if (a.isLinkLocalAddress()) return "a link-local address";
            if (a.isSiteLocalAddress()) return "a site-local address";
            if ((b[0] & 0xfe) == 0xfc) return "a unique-local (private) address";
            return null;
        }
        byte[] b = a.getAddress();
        int o0 = b[0] & 255, o1 = b[1] & 255;
        if (o0 == 0) return "never fetched: the 'this network' range 0.0.0.0/8";
        if (a.isMulticastAddress()) return "never fetched: a multicast address";
        if (o0 >= 240) return "never fetched: a reserved or broadcast address";
        if (allowPrivate) return null;
        if (a.isLoopbackAddress()) return "a loopback address";
        if (a.isLinkLocalAddress()) return "a link-local address (cloud metadata lives there)";
        if (a.isSiteLocalAddress()) return "a private address";
        if (o0 == 100 && (o1 & 0xc0) == 64) return "a carrier-grade NAT address (100.64.0.0/10)";
        if (o0 == 192 && o1 == 0 && b[2] == 0) return "an IETF protocol address (192.0.0.0/24)";
        if (o0 == 198 && (o1 & 0xfe) == 18) return "a benchmarking address (198.18.0.0/15)";
        return null;
    }

    /** The IPv4 address inside an IPv6 one that carries it, else null. */
    private static byte[] embeddedV4(byte[] b) {
        boolean zero10 = true;
        for (int i = 0; i < 10; i++) zero10 &= b[i] == 0;
        boolean mapped = zero10 && (b[10] & 255) == 0xff && (b[11] & 255) == 0xff;
        boolean compatible = zero10 && b[10] == 0 && b[11] == 0 && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && (b[15] == 0 || b[15] == 1));
        boolean nat64 = (b[0] & 255) == 0x00 && (b[1] & 255) == 0x64 && (b[2] & 255) == 0xff && (b[3] & 255) == 0x9b
                && b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 0 && b[8] == 0 && b[9] == 0 && b[10] == 0 && b[11] == 0;
        if (mapped || compatible || nat64) return new byte[]{b[12], b[13], b[14], b[15]};
        if ((b[0] & 255) == 0x20 && (b[1] & 255) == 0x02) return new byte[]{b[2], b[3], b[4], b[5]};
        return null;
    }

    private static ApiError forbidden(String param, String why) {
        return ApiError.invalid(param, "image_url_forbidden", "Image URL refused: " + why + ".");
    }

    private static ApiError failed(String param, String why) {
        return ApiError.invalid(param, "image_fetch_failed", "Could not fetch the image: " + why + ".");
    }

    private ApiError tooLarge(String param) {
        return ApiError.invalid(param, "image_too_large", "The remote image is larger than the server's limit of " + maxBytes + " bytes (--fetch-max-bytes).");
    }

    private static ApiError timedOut(String param) {
        return ApiError.invalid(param, "image_fetch_timeout", "Fetching the image took longer than the server's limit (--fetch-timeout).");
    }
}
