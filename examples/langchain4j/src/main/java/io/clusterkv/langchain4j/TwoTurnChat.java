package io.clusterkv.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.response.ChatResponse;
import io.clusterkv.runtime.chat.ChatEngine;
import java.util.ArrayList;
import java.util.List;

/**
 * An example: a two-turn chat through LangChain4j's {@code ChatModel} on {@code synthetic:tiny-chat} (random
 * weights: the answers are gibberish, but the template, the special tokens, the KV reuse and the counters
 * are real). The second turn continues the first turn's session: the engine's counter shows the prompt
 * tokens it did not prefill again.
 *
 * <pre>{@code
 * ./mvnw -B -q -pl examples/langchain4j -am package -DskipTests
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp "examples/langchain4j/target/classes:$(cat examples/langchain4j/target/classpath.txt)" \
 *   io.clusterkv.langchain4j.TwoTurnChat
 * }</pre>
 * Arguments (optional): a model (a GGUF file or a synthetic name), a policy, a budget.
 */
public final class TwoTurnChat {

    private TwoTurnChat() {
    }

    /** @param args [model [policy [budget]]] */
    public static void main(String[] args) {
        String model = args.length > 0 ? args[0] : "synthetic:tiny-chat";
        String policy = args.length > 1 ? args[1] : "clusterkv";
        int budget = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        try (ClusterKvChatModel chat = ClusterKvChatModel.builder()
                .model(model).policy(policy).budget(budget).maxTokens(24).build()) {
            List<ChatMessage> history = new ArrayList<>();
            history.add(SystemMessage.from("You are a helpful assistant."));
            for (String question : List.of("Hello! Who are you?", "What can you do?")) {
                history.add(UserMessage.from(question));
                ChatResponse response = chat.chat(history);
                history.add(response.aiMessage());
                ChatEngine.Stats s = chat.engine().stats();
                System.out.printf("user: %s%nassistant: %s%n  [%s, %d prompt + %d completion tokens; prompt tokens reused "
                                + "so far: %d of %d]%n", question, response.aiMessage().text(),
                        response.finishReason(), response.tokenUsage().inputTokenCount(),
                        response.tokenUsage().outputTokenCount(), s.reusedPromptTokens(), s.promptTokens());
            }
            AiMessage last = (AiMessage) history.getLast();
            System.out.println("turns: 2, last answer " + last.text().length() + " characters");
        }
    }
}
