package io.clusterkv.runtime.server;

import io.clusterkv.runtime.chat.ChatMessage;
import io.clusterkv.runtime.chat.ChatRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * One request to {@code /v1/chat/completions} or {@code /v1/completions}, parsed and checked against
 * OpenAI's schema. Every field the schema knows is accepted; the ones this server cannot honour are
 * accepted only with their neutral value ({@code n = 1}, penalties 0, no tools, no logprobs ...) and
 * refused otherwise, so that nothing asked for is silently ignored. A field the schema does not know is
 * refused, as OpenAI refuses it.
 *
 * @param endpoint        which endpoint
 * @param model           the model asked for
 * @param messages        the conversation (chat), else empty
 * @param prompt          the text to continue (completion), else empty
 * @param maxTokens       {@code max_tokens} (or {@code max_completion_tokens}), if given
 * @param temperature     in [0, 2]
 * @param topP            in (0, 1]
 * @param seed            the sampler's seed, if given
 * @param stop            stop strings
 * @param policy          the {@code clusterkv.policy} extension, if given
 * @param budget          the {@code clusterkv.budget} extension, if given
 * @param stream          whether to answer with server-sent events
 * @param includeUsage    {@code stream_options.include_usage}
 */
record OpenAiRequest(Endpoint endpoint, String model, List<ChatMessage> messages, Optional<String> prompt,
                     OptionalInt maxTokens, double temperature, double topP, OptionalLong seed, List<String> stop,
                     Optional<String> policy, OptionalInt budget, boolean stream, boolean includeUsage) {

    /** The two generating endpoints. */
    enum Endpoint {
        CHAT("/v1/chat/completions"), COMPLETION("/v1/completions");

        private final String path;

        Endpoint(String path) {
            this.path = path;
        }

        String path() {
            return path;
        }
    }

    /** OpenAI's completions default; a chat's default is the context left after the prompt. */
    static final int COMPLETION_DEFAULT_MAX_TOKENS = 16;
    static final int MAX_STOP_STRINGS = 16;

    private static final Set<String> COMMON = Set.of("model", "max_tokens", "temperature", "top_p", "seed", "stop",
            "n", "stream", "stream_options", "clusterkv", "user", "presence_penalty", "frequency_penalty",
            "logit_bias", "logprobs");
    private static final Set<String> CHAT_ONLY = Set.of("messages", "max_completion_tokens", "top_logprobs",
            "response_format", "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call", "store",
            "metadata", "service_tier");
    private static final Set<String> COMPLETION_ONLY = Set.of("prompt", "echo", "suffix", "best_of");
    private static final Set<String> MESSAGE_FIELDS = Set.of("role", "content", "name", "refusal", "tool_calls");
    private static final Map<String, String> ROLES = Map.of("system", "system", "developer", "system", "user", "user",
            "assistant", "assistant");

    /**
     * @param maxTokens the tokens to generate
     * @return the engine's request
     * @throws io.clusterkv.runtime.chat.InvalidChatRequestException if the engine's checks refuse a value
     */
    ChatRequest toChatRequest(int maxTokens) {
        return new ChatRequest(messages, prompt, maxTokens, temperature, topP, seed, stop, policy, budget);
    }

    /**
     * @param endpoint which endpoint the body came to
     * @param body     the parsed body
     * @return the request
     * @throws ApiError.Failure naming the field at fault
     */
    static OpenAiRequest parse(Endpoint endpoint, JsonNode body) {
        if (!body.isObject()) {
            throw ApiError.badJson("the body is " + kind(body) + ", not a JSON object").failure();
        }
        for (String name : body.propertyNames()) {
            boolean known = COMMON.contains(name)
                    || (endpoint == Endpoint.CHAT ? CHAT_ONLY : COMPLETION_ONLY).contains(name);
            if (!known) {
                throw ApiError.unknownParameter(name).failure();
            }
        }
        String model = string(body, "model").orElseThrow(() -> ApiError.missing("model").failure());
        List<ChatMessage> messages = List.of();
        Optional<String> prompt = Optional.empty();
        OptionalInt maxTokens = integer(body, "max_tokens", 0);
        if (endpoint == Endpoint.CHAT) {
            messages = messages(present(body, "messages").orElseThrow(() -> ApiError.missing("messages").failure()));
            OptionalInt completionTokens = integer(body, "max_completion_tokens", 0);
            if (completionTokens.isPresent()) {
                if (maxTokens.isPresent() && maxTokens.getAsInt() != completionTokens.getAsInt()) {
                    throw ApiError.invalid("'max_tokens' (" + maxTokens.getAsInt() + ") and 'max_completion_tokens' ("
                            + completionTokens.getAsInt() + ") disagree; give one of them", "max_completion_tokens",
                            "conflicting_values").failure();
                }
                maxTokens = completionTokens;
            }
            neutral(body, "top_logprobs", n -> n.isNumber() && n.asDouble() == 0, "only 0 (no log-probabilities)");
            neutral(body, "response_format", n -> n.isObject() && n.size() == 1 && n.path("type").isString()
                    && n.path("type").asString().equals("text"), "only {\"type\": \"text\"}");
            neutral(body, "tools", n -> n.isArray() && n.isEmpty(), "tools are not supported (only an empty list)");
            neutral(body, "functions", n -> n.isArray() && n.isEmpty(), "functions are not supported (only an empty list)");
            neutral(body, "tool_choice", n -> n.isString() && (n.asString().equals("none") || n.asString().equals("auto")),
                    "tools are not supported: only \"none\" or \"auto\"");
            neutral(body, "function_call", n -> n.isString() && (n.asString().equals("none") || n.asString().equals("auto")),
                    "functions are not supported: only \"none\" or \"auto\"");
            bool(body, "parallel_tool_calls");
            bool(body, "store");
            neutral(body, "metadata", JsonNode::isObject, "an object");
            string(body, "service_tier");
        } else {
            prompt = Optional.of(prompt(present(body, "prompt").orElseThrow(() -> ApiError.missing("prompt").failure())));
            if (bool(body, "echo").orElse(false)) {
                throw ApiError.unsupported("echo", "only false (the prompt is not echoed)").failure();
            }
            neutral(body, "suffix", n -> n.isString() && n.asString().isEmpty(), "only null (no insertion)");
            neutral(body, "best_of", n -> n.isIntegralNumber() && n.asLong() == 1, "only 1");
        }
        double temperature = number(body, "temperature").orElse(1.0);
        if (!(temperature >= 0 && temperature <= 2)) {
            throw ApiError.invalid("Invalid 'temperature': expected a number in [0, 2], but got " + temperature + ".",
                    "temperature", "value_out_of_range").failure();
        }
        double topP = number(body, "top_p").orElse(1.0);
        if (!(topP > 0 && topP <= 1)) {
            throw ApiError.invalid("Invalid 'top_p': expected a number in (0, 1], but got " + topP + ".", "top_p",
                    "value_out_of_range").failure();
        }
        OptionalLong seed = present(body, "seed").map(n -> {
            if (!n.isIntegralNumber() || !n.canConvertToLong()) {
                throw ApiError.invalidType("seed", "an integer", kind(n)).failure();
            }
            return OptionalLong.of(n.asLong());
        }).orElse(OptionalLong.empty());
        List<String> stop = stop(body);
        neutral(body, "n", n -> n.isIntegralNumber() && n.asLong() == 1, "only 1 choice per request");
        neutral(body, "presence_penalty", n -> n.isNumber() && n.asDouble() == 0, "only 0 (no penalties)");
        neutral(body, "frequency_penalty", n -> n.isNumber() && n.asDouble() == 0, "only 0 (no penalties)");
        neutral(body, "logit_bias", n -> n.isObject() && n.isEmpty(), "only an empty object (no biases)");
        neutral(body, "logprobs", n -> (n.isBoolean() && !n.asBoolean()) || (n.isIntegralNumber() && n.asLong() == 0),
                "log-probabilities are not supported (only false or null)");
        string(body, "user");
        boolean stream = bool(body, "stream").orElse(false);
        boolean includeUsage = false;
        Optional<JsonNode> options = present(body, "stream_options");
        if (options.isPresent()) {
            JsonNode o = options.get();
            if (!o.isObject()) {
                throw ApiError.invalidType("stream_options", "an object", kind(o)).failure();
            }
            for (String name : o.propertyNames()) {
                if (!name.equals("include_usage") && !name.equals("include_obfuscation")) {
                    throw ApiError.unknownParameter("stream_options." + name).failure();
                }
            }
            includeUsage = bool(o, "include_usage", "stream_options.include_usage").orElse(false);
            bool(o, "include_obfuscation", "stream_options.include_obfuscation");
        }
        Optional<String> policy = Optional.empty();
        OptionalInt budget = OptionalInt.empty();
        Optional<JsonNode> extension = present(body, "clusterkv");
        if (extension.isPresent()) {
            JsonNode x = extension.get();
            if (!x.isObject()) {
                throw ApiError.invalidType("clusterkv", "an object", kind(x)).failure();
            }
            for (String name : x.propertyNames()) {
                if (!name.equals("policy") && !name.equals("budget")) {
                    throw ApiError.invalid("Unrecognized argument 'clusterkv." + name + "'; the extension takes 'policy'"
                            + " and 'budget'.", "clusterkv." + name, "unknown_parameter").failure();
                }
            }
            policy = string(x, "policy", "clusterkv.policy");
            budget = integer(x, "budget", "clusterkv.budget", 1);
        }
        return new OpenAiRequest(endpoint, model, messages, prompt, maxTokens, temperature, topP, seed, stop, policy,
                budget, stream, includeUsage);
    }

    private static List<ChatMessage> messages(JsonNode node) {
        if (!node.isArray()) {
            throw ApiError.invalidType("messages", "an array", kind(node)).failure();
        }
        if (node.isEmpty()) {
            throw ApiError.invalid("Invalid 'messages': empty array. Expected an array with minimum length 1.",
                    "messages", "empty_array").failure();
        }
        List<ChatMessage> messages = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            String at = "messages[" + i + "]";
            JsonNode m = node.get(i);
            if (!m.isObject()) {
                throw ApiError.invalidType(at, "an object", kind(m)).failure();
            }
            for (String name : m.propertyNames()) {
                if (!MESSAGE_FIELDS.contains(name)) {
                    throw ApiError.unknownParameter(at + "." + name).failure();
                }
            }
            String role = string(m, "role", at + ".role").orElseThrow(() -> ApiError.missing(at + ".role").failure());
            String mapped = ROLES.get(role);
            if (mapped == null) {
                throw ApiError.unsupported(at + ".role", "'" + role + "'; supported roles: system, developer, user, assistant"
                        + (role.equals("tool") || role.equals("function") ? " (tools are not supported)" : "")).failure();
            }
            neutral(m, "tool_calls", at + ".tool_calls", n -> n.isArray() && n.isEmpty(), "tools are not supported");
            string(m, "name", at + ".name");
            string(m, "refusal", at + ".refusal");
            JsonNode content = present(m, "content").orElseThrow(() -> ApiError.missing(at + ".content").failure());
            messages.add(new ChatMessage(mapped, content(content, at + ".content")));
        }
        return messages;
    }

    /** A message's content: a string, or an array of text parts joined. */
    private static String content(JsonNode node, String at) {
        if (node.isString()) {
            return node.asString();
        }
        if (!node.isArray()) {
            throw ApiError.invalidType(at, "a string or an array of text parts", kind(node)).failure();
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < node.size(); i++) {
            JsonNode part = node.get(i);
            String p = at + "[" + i + "]";
            if (!part.isObject()) {
                throw ApiError.invalidType(p, "an object", kind(part)).failure();
            }
            String type = string(part, "type", p + ".type").orElseThrow(() -> ApiError.missing(p + ".type").failure());
            if (!type.equals("text")) {
                throw ApiError.unsupported(p + ".type", "'" + type + "'; only text parts are supported").failure();
            }
            for (String name : part.propertyNames()) {
                if (!name.equals("type") && !name.equals("text")) {
                    throw ApiError.unknownParameter(p + "." + name).failure();
                }
            }
            text.append(string(part, "text", p + ".text").orElseThrow(() -> ApiError.missing(p + ".text").failure()));
        }
        return text.toString();
    }

    /** A completion's prompt: a string, or an array of one string. */
    private static String prompt(JsonNode node) {
        if (node.isString()) {
            return node.asString();
        }
        if (node.isArray() && node.size() == 1 && node.get(0).isString()) {
            return node.get(0).asString();
        }
        if (node.isArray()) {
            throw ApiError.unsupported("prompt", "only a string or an array of one string (no batches, no token arrays)")
                    .failure();
        }
        throw ApiError.invalidType("prompt", "a string", kind(node)).failure();
    }

    private static List<String> stop(JsonNode body) {
        Optional<JsonNode> node = present(body, "stop");
        if (node.isEmpty()) {
            return List.of();
        }
        JsonNode n = node.get();
        if (n.isString()) {
            if (n.asString().isEmpty()) {
                throw ApiError.invalid("Invalid 'stop': an empty string.", "stop", "empty_string").failure();
            }
            return List.of(n.asString());
        }
        if (!n.isArray()) {
            throw ApiError.invalidType("stop", "a string or an array of strings", kind(n)).failure();
        }
        if (n.size() > MAX_STOP_STRINGS) {
            throw ApiError.invalid("Invalid 'stop': " + n.size() + " strings; at most " + MAX_STOP_STRINGS + ".", "stop",
                    "array_above_max_length").failure();
        }
        List<String> stop = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode s = n.get(i);
            if (!s.isString()) {
                throw ApiError.invalidType("stop[" + i + "]", "a string", kind(s)).failure();
            }
            if (s.asString().isEmpty()) {
                throw ApiError.invalid("Invalid 'stop[" + i + "]': an empty string.", "stop[" + i + "]", "empty_string")
                        .failure();
            }
            stop.add(s.asString());
        }
        return stop;
    }

    /** @return the field unless it is absent or JSON null (OpenAI's clients send null for "not set") */
    private static Optional<JsonNode> present(JsonNode object, String name) {
        JsonNode n = object.get(name);
        return n == null || n.isNull() ? Optional.empty() : Optional.of(n);
    }

    private static Optional<String> string(JsonNode object, String name) {
        return string(object, name, name);
    }

    private static Optional<String> string(JsonNode object, String name, String param) {
        return present(object, name).map(n -> {
            if (!n.isString()) {
                throw ApiError.invalidType(param, "a string", kind(n)).failure();
            }
            return n.asString();
        });
    }

    private static Optional<Boolean> bool(JsonNode object, String name) {
        return bool(object, name, name);
    }

    private static Optional<Boolean> bool(JsonNode object, String name, String param) {
        return present(object, name).map(n -> {
            if (!n.isBoolean()) {
                throw ApiError.invalidType(param, "a boolean", kind(n)).failure();
            }
            return n.asBoolean();
        });
    }

    private static Optional<Double> number(JsonNode object, String name) {
        return present(object, name).map(n -> {
            if (!n.isNumber()) {
                throw ApiError.invalidType(name, "a number", kind(n)).failure();
            }
            return n.asDouble();
        });
    }

    private static OptionalInt integer(JsonNode object, String name, int minimum) {
        return integer(object, name, name, minimum);
    }

    private static OptionalInt integer(JsonNode object, String name, String param, int minimum) {
        Optional<JsonNode> node = present(object, name);
        if (node.isEmpty()) {
            return OptionalInt.empty();
        }
        JsonNode n = node.get();
        if (!n.isIntegralNumber()) {
            throw ApiError.invalidType(param, "an integer", kind(n)).failure();
        }
        if (!n.canConvertToInt()) {
            throw ApiError.invalid("Invalid '" + param + "': " + n + " is out of the integer range.", param,
                    "value_out_of_range").failure();
        }
        if (n.asInt() < minimum) {
            throw ApiError.belowMinimum(param, Integer.toString(minimum), n.toString()).failure();
        }
        return OptionalInt.of(n.asInt());
    }

    private static void neutral(JsonNode object, String name, java.util.function.Predicate<JsonNode> accepted,
                                String what) {
        neutral(object, name, name, accepted, what);
    }

    private static void neutral(JsonNode object, String name, String param, java.util.function.Predicate<JsonNode> accepted,
                                String what) {
        present(object, name).ifPresent(n -> {
            if (!accepted.test(n)) {
                throw ApiError.unsupported(param, what + "; got " + abbreviate(n)).failure();
            }
        });
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /** @return how OpenAI's messages name a JSON value's type */
    static String kind(JsonNode n) {
        if (n.isString()) {
            return "a string";
        }
        if (n.isIntegralNumber()) {
            return "an integer";
        }
        if (n.isNumber()) {
            return "a decimal";
        }
        if (n.isBoolean()) {
            return "a boolean";
        }
        if (n.isArray()) {
            return "an array";
        }
        if (n.isObject()) {
            return "an object";
        }
        return n.isNull() ? "null" : "a " + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
}
