package io.clusterkv.runtime.server;

import java.util.Optional;

/**
 * An error answered in OpenAI's format: {@code {"error": {"message", "type", "param", "code"}}} with an HTTP
 * status. Thrown inside the server where a request is refused; never escapes it.
 *
 * @param status  the HTTP status
 * @param message what was wrong, naming the field and the value
 * @param type    OpenAI's error type, e.g. {@code invalid_request_error}
 * @param param   the request field at fault, if one is
 * @param code    OpenAI's error code, e.g. {@code context_length_exceeded}, if one applies
 */
record ApiError(int status, String message, String type, Optional<String> param, Optional<String> code) {

    static final String INVALID_REQUEST = "invalid_request_error";

    /** The error as an exception, so that request parsing can stop where it finds one. */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient ApiError error;

        Failure(ApiError error) {
            super(error.message(), null, false, false);
            this.error = error;
        }

        ApiError error() {
            return error;
        }
    }

    Failure failure() {
        return new Failure(this);
    }

    static ApiError invalid(String message, String param, String code) {
        return new ApiError(400, message, INVALID_REQUEST, Optional.ofNullable(param), Optional.ofNullable(code));
    }

    static ApiError badJson(String detail) {
        return new ApiError(400, "We could not parse the JSON body of your request: " + detail
                + ". The body must be a JSON object (Content-Type: application/json).",
                INVALID_REQUEST, Optional.empty(), Optional.of("invalid_json"));
    }

    static ApiError invalidType(String param, String expected, String got) {
        return invalid("Invalid type for '" + param + "': expected " + expected + ", but got " + got + " instead.",
                param, "invalid_type");
    }

    static ApiError belowMinimum(String param, String minimum, String got) {
        return invalid("Invalid '" + param + "': below the minimum value. Expected a value >= " + minimum + ", but got "
                + got + " instead.", param, "value_below_minimum");
    }

    static ApiError unknownParameter(String param) {
        return invalid("Unrecognized request argument supplied: '" + param + "'. Supported: see docs of ckv serve.",
                param, "unknown_parameter");
    }

    static ApiError unsupported(String param, String what) {
        return invalid("Unsupported value for '" + param + "': " + what, param, "unsupported_value");
    }

    static ApiError missing(String param) {
        return invalid("Missing required parameter: '" + param + "'.", param, "missing_required_parameter");
    }

    static ApiError modelNotFound(String requested, String served) {
        return new ApiError(404, "The model '" + requested + "' does not exist; this server serves '" + served + "'.",
                INVALID_REQUEST, Optional.of("model"), Optional.of("model_not_found"));
    }

    static ApiError contextOverflow(int contextLength, int promptTokens, int maxTokens, String param) {
        return invalid("This model's maximum context length is " + contextLength + " tokens. However, you requested "
                + ((long) promptTokens + maxTokens) + " tokens (" + promptTokens + " in the prompt, " + maxTokens
                + " in the completion). Please reduce the length of the prompt or of max_tokens.", param,
                "context_length_exceeded");
    }

    static ApiError overloaded(String detail) {
        return new ApiError(429, "The server is busy: " + detail + ". Retry later.", "rate_limit_error",
                Optional.empty(), Optional.of("queue_full"));
    }

    static ApiError unavailable(String detail) {
        return new ApiError(503, detail, "server_error", Optional.empty(), Optional.of("server_unavailable"));
    }

    static ApiError internal(String detail) {
        return new ApiError(500, "The server failed while processing the request: " + detail, "server_error",
                Optional.empty(), Optional.empty());
    }

    static ApiError unauthorized(String message) {
        return new ApiError(401, message, INVALID_REQUEST, Optional.empty(), Optional.of("invalid_api_key"));
    }

    static ApiError notFound(String method, String path) {
        return new ApiError(404, "Unknown request URL: " + method + " " + path + ". Endpoints: POST /v1/chat/completions,"
                + " POST /v1/completions, GET /v1/models, GET /health, GET /metrics.", INVALID_REQUEST, Optional.empty(),
                Optional.of("unknown_url"));
    }

    static ApiError methodNotAllowed(String method, String path, String allowed) {
        return new ApiError(405, "Method " + method + " is not allowed on " + path + "; use " + allowed + ".",
                INVALID_REQUEST, Optional.empty(), Optional.of("method_not_allowed"));
    }

    static ApiError tooLarge(long limit) {
        return new ApiError(413, "The request body is larger than the server's limit of " + limit + " bytes.",
                INVALID_REQUEST, Optional.empty(), Optional.of("request_too_large"));
    }
}
