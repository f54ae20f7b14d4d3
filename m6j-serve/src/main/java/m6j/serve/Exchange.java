package m6j.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** One HTTP exchange: bounded body reading, JSON and error replies, server-sent events. */
final class Exchange {
    final HttpExchange http;
    private int status;
    private OutputStream sse;

    private final long arrived = System.nanoTime();    // the connection existed by now
    private Admission admission;
    private int reserved;                               // KiB of the admission budget this exchange holds

    Exchange(HttpExchange http) { this.http = http; }

    int status() { return status; }

    String path() { return http.getRequestURI().getPath(); }

    /**
     * The body, at most max bytes (413 past that; the rest is drained, see DRAIN_CAP). Its bytes are reserved from the admission budget first, held until the exchange closes.
     */
    byte[] body(long max, Admission admission) throws IOException {
        long declared = declaredLength();
        InputStream in = http.getRequestBody();
        if (declared > DRAIN_CAP) {
            // More than would ever be drained: waiting for it (a client declaring 1 GiB and sending a few bytes) held
            // this thread until the request time limit and then closed without an answer. Answer now, and close.
            http.getResponseHeaders().set("Connection", "close");
            throw tooLarge(max);
        }
        if (declared > max) { drain(in, DRAIN_CAP); throw tooLarge(max); }
        reserved += admission.reserve(declared >= 0 ? declared : max);
        this.admission = admission;
        if (declared >= 0) {                            // exactly the declared bytes: no doubling buffer
            byte[] b = new byte[(int) declared];
            for (int at = 0, r; at < b.length; at += r)
                if ((r = in.read(b, at, b.length - at)) < 0) throw new IOException("body ended after " + at + " of " + declared + " bytes");
            return b;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16384];
        int r;
        while ((r = in.read(buf)) > 0) {
            out.write(buf, 0, r);
            if (out.size() > max) { drain(in, DRAIN_CAP); throw tooLarge(max); }
        }
        return out.toByteArray();
    }

    /** Reserves more of the admission budget for this exchange (its parsed request), given back on close. */
    void reserve(long bytes) {
        if (admission != null) reserved += admission.reserve(bytes);
    }

    /**
     * A refused body is read and dropped up to this much, through a fixed buffer (heap stays flat; the request time
     * limit bounds how long), so that a client still sending reads the answer instead of a reset connection.
     */
    static final long DRAIN_CAP = 64L << 20;

    /** Reads and drops (up to DRAIN_CAP) a body that will not be used. */
    void discardBody() {
        try {
            drain(http.getRequestBody(), DRAIN_CAP);
        } catch (IOException ignored) {
            // nothing to drain
        }
    }

    /** Content-Length, or -1 when absent or not a number (chunked). */
    private long declaredLength() {
        String len = http.getRequestHeaders().getFirst("Content-Length");
        if (len == null) return -1;
        try { return Long.parseLong(len.trim()); } catch (NumberFormatException e) { return -1; }
    }

    private static void drain(InputStream in, long cap) throws IOException {
        byte[] buf = new byte[65536];
        long total = 0;
        int r;
        while (total < cap && (r = in.read(buf, 0, (int) Math.min(buf.length, cap - total))) > 0) total += r;
    }

    private static ApiError tooLarge(long max) {
        return new ApiError(413, "invalid_request_error", "request_too_large", null, "Request body exceeds the limit of " + max + " bytes.", 0);
    }

    void json(int code, Object body) throws IOException { send(code, "application/json", RequestJson.bytes(body)); }

    void error(ApiError e) throws IOException {
        if (e.retryAfter > 0) http.getResponseHeaders().set("Retry-After", Integer.toString(e.retryAfter));
        ObjectNode body = e.toJson();
        if (sse != null) {                       // already streaming: the error goes in the stream
            event(body);
            return;
        }
        json(e.status, body);
    }

    void send(int code, String type, byte[] body) throws IOException {
        status = code;
        http.getResponseHeaders().set("Content-Type", type);
        http.sendResponseHeaders(code, body.length == 0 ? -1 : body.length);
        try (OutputStream o = http.getResponseBody()) { o.write(body); }
    }

    void startEvents() throws IOException {
        status = 200;
        http.getResponseHeaders().set("Content-Type", "text/event-stream");
        http.getResponseHeaders().set("Cache-Control", "no-cache");
        http.sendResponseHeaders(200, 0);
        sse = http.getResponseBody();
    }

    boolean streaming() { return sse != null; }

    /** True once the client has closed or reset its connection (see {@link ClientConnection}). */
    boolean clientGone() { return ClientConnection.gone(http.getLocalAddress(), http.getRemoteAddress(), arrived); }

    /** One `data:` event, flushed; throws when the client has gone. */
    void event(Object data) throws IOException { rawEvent(new String(RequestJson.bytes(data), StandardCharsets.UTF_8)); }

    /** One named event (`event:` then `data:`, as the Responses API streams), flushed; throws when the client has gone. */
    void event(String name, Object data) throws IOException {
        sse.write(("event: " + name + "\ndata: " + new String(RequestJson.bytes(data), StandardCharsets.UTF_8) + "\n\n").getBytes(StandardCharsets.UTF_8));
        sse.flush();
    }

    void rawEvent(String data) throws IOException {
        sse.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        sse.flush();
    }

    void close() {
        try {
            if (sse != null) sse.close();
        } catch (IOException ignored) {
            // client gone
        }
        http.close();
        if (admission != null) admission.release(reserved);
        reserved = 0;
    }
}
