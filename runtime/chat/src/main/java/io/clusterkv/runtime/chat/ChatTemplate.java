package io.clusterkv.runtime.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.gguf.GgufValue;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A chat template from the GGUF's {@code tokenizer.chat_template}, rendered by Jinjava with the variables
 * Hugging Face and llama.cpp give it: {@code messages} (each with {@code role} and {@code content}),
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, and the function
 * {@code raise_exception(message)}. Immutable and thread-safe.
 *
 * <p>Rendering follows Hugging Face's {@code apply_chat_template}: Jinja's {@code trim_blocks} and
 * {@code lstrip_blocks} are on, and one newline at the end of the template is dropped (Jinja's
 * {@code keep_trailing_newline} is off). Templates that do not render a system message (they drop it, as
 * Phi-3-mini's does, or raise, as Mistral v0.2's does) get llama.cpp's polyfill: system messages are
 * joined, with {@code "\n"}, in front of the next user message. Whether a template renders system
 * messages is probed once, when it is created.
 *
 * <p>The rendered text holds special tokens as their text ({@code <|im_start|>}, {@code <|eot_id|>},
 * {@code <s>} ...): tokenise it with special tokens parsed ({@link ChatEngine} does).
 */
public final class ChatTemplate {

    /** The GGUF key holding the template. */
    public static final String GGUF_KEY = "tokenizer.chat_template";

    private static final String SYSTEM_PROBE = "<ckv system probe 7f3a>";

    private static final Jinjava JINJAVA = newJinjava();
    private static final Pattern LSTRIP_EXPRESSION = Pattern.compile("\\s*\\{\\{-");
    private static final Pattern RSTRIP_EXPRESSION = Pattern.compile("-\\}\\}\\s*");
    private static final Pattern PY_CASE_METHOD = Pattern.compile("\\.(upper|lower|title|capitalize)\\(\\)");

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final String jinjavaSource;
    private final boolean rendersSystem;

    private ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = source;
        this.jinjavaSource = forJinjava(source);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.rendersSystem = probeSystem();
    }

    private static Jinjava newJinjava() {
        Jinjava j = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .withMaxOutputSize(64L << 20)
                .build());
        j.registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException",
                Object.class));
        return j;
    }

    /**
     * The template's {@code raise_exception(message)}: ends rendering with that message.
     *
     * @param message what the template says
     * @return never
     * @throws TemplateRaised always
     */
    public static Object raiseException(Object message) {
        throw new TemplateRaised(String.valueOf(message));
    }

    /** What {@code raise_exception} throws inside Jinjava; turned into {@link ChatTemplateException}. */
    static final class TemplateRaised extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TemplateRaised(String message) {
            super(message);
        }
    }

    /**
     * @param jinjaSource the template's Jinja source
     * @param bosToken    the text of the BOS token ({@code ""} if none)
     * @param eosToken    the text of the EOS token ({@code ""} if none)
     * @return the template
     * @throws ChatTemplateException if the source is blank
     */
    public static ChatTemplate of(String jinjaSource, String bosToken, String eosToken) {
        Objects.requireNonNull(jinjaSource, "jinjaSource");
        Objects.requireNonNull(bosToken, "bosToken");
        Objects.requireNonNull(eosToken, "eosToken");
        if (jinjaSource.isBlank()) {
            throw new ChatTemplateException("the chat template is empty");
        }
        return new ChatTemplate(jinjaSource, bosToken, eosToken);
    }

    /**
     * @param model a model
     * @return its GGUF's {@code tokenizer.chat_template}, with its vocabulary's BOS and EOS texts; empty if it
     *         has none (a model without a GGUF, or a GGUF without the key)
     * @throws ChatTemplateException if the key holds no string, or an empty one
     */
    public static Optional<ChatTemplate> fromModel(LlamaModel model) {
        Objects.requireNonNull(model, "model");
        if (model.gguf().isEmpty()) {
            return Optional.empty();
        }
        var gguf = model.gguf().get();
        GgufValue v = gguf.metadata().get(GGUF_KEY);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v.value() instanceof String s)) {
            throw new ChatTemplateException(model.source() + ": " + GGUF_KEY + " holds a " + v.type() + ", not a string");
        }
        Tokenizer t = Tokenizers.fromGguf(gguf);
        return Optional.of(of(s, tokenText(t, t.bosId()), tokenText(t, t.eosId())));
    }

    private static String tokenText(Tokenizer t, OptionalInt id) {
        return id.isPresent() ? t.tokenText(id.getAsInt()) : "";
    }

    /** @return the Jinja source */
    public String source() {
        return source;
    }

    /** @return the BOS token's text given to the template */
    public String bosToken() {
        return bosToken;
    }

    /** @return the EOS token's text given to the template */
    public String eosToken() {
        return eosToken;
    }

    /** @return whether the template renders system messages itself (else they are joined to the next user message) */
    public boolean rendersSystemMessages() {
        return rendersSystem;
    }

    /**
     * @param messages            the conversation
     * @param addGenerationPrompt whether to end with the opening of an assistant turn
     * @return the prompt text, special tokens written as their text (e.g. {@code <|im_start|>})
     * @throws ChatTemplateException if rendering fails or the template raised an exception (its message kept)
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Objects.requireNonNull(messages, "messages");
        return renderRaw(rendersSystem ? messages : joinSystemMessages(messages), addGenerationPrompt);
    }

    private String renderRaw(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        String src = jinjavaSource;
        RenderResult result;
        try {
            result = JINJAVA.renderForResult(src, vars);
        } catch (RuntimeException e) {
            throw failure(e);
        }
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL).toList();
        if (!fatal.isEmpty()) {
            for (TemplateError e : fatal) {
                Throwable raised = raisedIn(e.getException());
                if (raised != null) {
                    throw new ChatTemplateException("the chat template raised an exception: " + raised.getMessage());
                }
            }
            throw new ChatTemplateException("the chat template failed to render: " + fatal.stream()
                    .map(e -> e.getMessage() + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : ""))
                    .collect(Collectors.joining("; ")));
        }
        return result.getOutput();
    }

    /**
     * Jinja's behaviour where Jinjava's differs: one trailing newline of the source is dropped
     * ({@code keep_trailing_newline} off); {@code {{-}} / {@code -}}} strip the whitespace beside an
     * expression (Jinjava honours them on statements only); and the Python string methods templates call,
     * which Jinjava resolves as Java methods: {@code .upper()}, {@code .lower()}, {@code .title()},
     * {@code .capitalize()} become the filters of those names, {@code .startswith(}/{@code .endswith(}
     * Java's {@code startsWith}/{@code endsWith}, {@code .lstrip()}/{@code .rstrip()} Java's
     * {@code stripLeading()}/{@code stripTrailing()} ({@code .strip()}, {@code .replace(a, b)} and
     * {@code .split(s)} with a plain separator are Java's already).
     */
    static String forJinjava(String source) {
        String s = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        s = LSTRIP_EXPRESSION.matcher(s).replaceAll("{{");
        s = RSTRIP_EXPRESSION.matcher(s).replaceAll("}}");
        s = PY_CASE_METHOD.matcher(s).replaceAll("|$1");
        return s.replace(".startswith(", ".startsWith(").replace(".endswith(", ".endsWith(")
                .replace(".lstrip()", ".stripLeading()").replace(".rstrip()", ".stripTrailing()");
    }

    private static ChatTemplateException failure(RuntimeException e) {
        Throwable raised = raisedIn(e);
        if (raised != null) {
            return new ChatTemplateException("the chat template raised an exception: " + raised.getMessage());
        }
        return new ChatTemplateException("the chat template failed to render: " + e.getMessage(), e);
    }

    private static Throwable raisedIn(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TemplateRaised) {
                return t;
            }
        }
        return null;
    }

    /** llama.cpp's polyfill for templates without a system role: system text goes in front of the next user message. */
    private static List<ChatMessage> joinSystemMessages(List<ChatMessage> messages) {
        List<ChatMessage> out = new ArrayList<>(messages.size());
        StringBuilder pending = null;
        for (ChatMessage m : messages) {
            if (m.role().equals("system")) {
                if (pending == null) {
                    pending = new StringBuilder(m.content());
                } else {
                    pending.append('\n').append(m.content());
                }
            } else if (m.role().equals("user") && pending != null) {
                out.add(new ChatMessage("user", m.content().isEmpty() ? pending.toString() : pending + "\n" + m.content()));
                pending = null;
            } else {
                out.add(m);
            }
        }
        if (pending != null) {
            out.add(new ChatMessage("user", pending.toString()));
        }
        return out;
    }

    private boolean probeSystem() {
        try {
            return renderRaw(List.of(new ChatMessage("system", SYSTEM_PROBE), new ChatMessage("user", "Hey")), false)
                    .contains(SYSTEM_PROBE);
        } catch (ChatTemplateException e) {
            return false;
        }
    }
}
