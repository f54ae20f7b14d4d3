package m6j.infer;

/**
 * Why the engine refused or failed a request, in its own terms; the server maps each kind to an HTTP status
 * (the engine knows nothing of HTTP).
 */
public final class EngineException extends RuntimeException {
    public enum Kind {
        /** The request itself cannot run (too long for the context, bad image): the caller's mistake. */
        INVALID,
        /** The queue is full; retry later. */
        BUSY,
        /** Not finished within the engine's time limit. */
        TIMEOUT,
        /** The engine is not running (stopped, or its thread died). */
        UNAVAILABLE,
        /** The model failed on this request's batch. */
        FAILED
    }

    public final Kind kind;
    /** Seconds after which a BUSY request may be retried, else 0. */
    public final int retryAfter;

    EngineException(Kind kind, String message, int retryAfter) {
        super(message);
        this.kind = kind;
        this.retryAfter = retryAfter;
    }

    static EngineException invalid(String m) { return new EngineException(Kind.INVALID, m, 0); }

    static EngineException busy(int retryAfter) {
        return new EngineException(Kind.BUSY, "The request queue is full; retry after " + retryAfter + " s.", retryAfter);
    }

    static EngineException timeout(long ms) { return new EngineException(Kind.TIMEOUT, "Request did not finish within " + ms + " ms.", 0); }

    static EngineException unavailable(String m) { return new EngineException(Kind.UNAVAILABLE, m, 0); }

    static EngineException failed(String m) { return new EngineException(Kind.FAILED, m, 0); }
}
