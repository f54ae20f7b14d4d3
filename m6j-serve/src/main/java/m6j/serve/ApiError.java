package m6j.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import m6j.infer.EngineException;

/**
 * An error the API answers in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with an HTTP status.
 * Thrown anywhere below a handler; the server turns it into the response.
 */
public final class ApiError extends RuntimeException {
    public final int status;
    public final String type, code, param;
    /** Seconds for a Retry-After header (429), or 0. */
    public final int retryAfter;

    public ApiError(int status, String type, String code, String param, String message, int retryAfter) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
        this.retryAfter = retryAfter;
    }

    public static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", "invalid_value", param, message, 0);
    }

    public static ApiError invalid(String param, String code, String message) {
        return new ApiError(400, "invalid_request_error", code, param, message, 0);
    }

    public static ApiError notFound(String message) {
        return new ApiError(404, "invalid_request_error", "not_found", null, message, 0);
    }

    public static ApiError auth() {
        return new ApiError(401, "invalid_request_error", "invalid_api_key", null, "Incorrect API key provided (send it as 'Authorization: Bearer KEY').", 0);
    }

    public static ApiError busy(int retryAfter) {
        return new ApiError(429, "rate_limit_exceeded", "queue_full", null,
                "The server's request queue is full; retry after " + retryAfter + " s.", retryAfter);
    }

    public static ApiError timeout(long ms) {
        return new ApiError(408, "timeout", "request_timeout", null, "Request did not finish within " + ms + " ms.", 0);
    }

    public static ApiError internal(String message) {
        return new ApiError(500, "server_error", "internal_error", null, message, 0);
    }

    /** The HTTP answer to an engine's refusal or failure. */
    public static ApiError of(EngineException e) {
        return switch (e.kind) {
            case INVALID -> invalid(null, e.getMessage());
            case BUSY -> busy(e.retryAfter);
            case TIMEOUT -> new ApiError(408, "timeout", "request_timeout", null, e.getMessage(), 0);
            case UNAVAILABLE -> new ApiError(503, "server_error", "engine_unavailable", null, e.getMessage(), 0);
            case FAILED -> internal(e.getMessage());
        };
    }

    public ObjectNode toJson() {
        ObjectNode root = RequestJson.MAPPER.createObjectNode(), e = root.putObject("error");
        e.put("message", getMessage());
        e.put("type", type);
        if (param == null) e.putNull("param"); else e.put("param", param);
        if (code == null) e.putNull("code"); else e.put("code", code);
        return root;
    }
}
