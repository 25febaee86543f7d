package io.clusterkv.runtime.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Templates rendered against independent references: the templates, the conversation and the expected
 * renderings (the Jinja path's, {@code expected_output_jinja} where the reference gives one) are those of
 * llama.cpp's {@code tests/test-chat-template.cpp} (MIT), rendered there by llama.cpp's own Jinja engine
 * with {@code add_generation_prompt = true}. Qwen2's template is the one in Qwen2-7B-Instruct's
 * {@code tokenizer_config.json}; with a system message it renders plain ChatML, which is the reference's
 * ChatML rendering, and without one the default system prompt its model card shows.
 */
class ChatTemplateTest {

    /** The reference's conversation. */
    static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are a helpful assistant"),
            ChatMessage.user("Hello"),
            ChatMessage.assistant("Hi there"),
            ChatMessage.user("Who are you"),
            ChatMessage.assistant("   I am an assistant   "),
            ChatMessage.user("Another question"));

    static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    static final String CHATML_EXPECTED = "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n<|im_start|>assistant\n";

    static final String QWEN2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}";

    static final String MISTRAL_V02 = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    static final String MISTRAL_V1 = "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content'] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set loop_messages = messages %}\n{%- endif %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}\n    {%- endif %}\n    {%- if message['role'] == 'user' %}\n        {%- if loop.first and system_message is defined %}\n            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}\n        {%- else %}\n            {{- ' [INST] ' + message['content'] + ' [/INST]' }}\n        {%- endif %}\n    {%- elif message['role'] == 'assistant' %}\n        {{- ' ' + message['content'] + eos_token}}\n    {%- else %}\n        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}\n    {%- endif %}\n{%- endfor %}\n";

    static final String MISTRAL_V7 = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + '[/INST]' }}{% elif message['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% else %}{{ raise_exception('Only user, system and assistant roles are supported!') }}{% endif %}{% endfor %}";

    static final String PHI3_MINI = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\n'}}{% endif %}{% endfor %}";

    static final String PHI3_SMALL = "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

    static final String PHI3_VISION = "{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}{% endfor %}{% if add_generation_prompt and messages[-1]['role'] != 'assistant' %}{{- '<|assistant|>\n' -}}{% endif %}";

    static final String OPENCHAT = "{{ bos_token }}{% for message in messages %}{{ 'GPT4 Correct ' + message['role'].title() + ': ' + message['content'] + '<|end_of_turn|>'}}{% endfor %}{% if add_generation_prompt %}{{ 'GPT4 Correct Assistant:' }}{% endif %}";

    static final String VIGOGNE = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% elif true == true and not '<<SYS>>' in messages[0]['content'] %}{% set loop_messages = messages %}{% set system_message = 'Vous êtes Vigogne, un assistant IA créé par Zaion Lab. Vous suivez extrêmement bien les instructions. Aidez autant que vous le pouvez.' %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'system' %}{{ '<<SYS>>\\n' + content.strip() + '\\n<</SYS>>\\n\\n' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    static final String GEMMA = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

    static final String PHI3_EXPECTED = "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n<|user|>\nAnother question<|end|>\n<|assistant|>\n";

    static Stream<Arguments> references() {
        return Stream.of(
                Arguments.of("ChatML (teknium/OpenHermes-2.5-Mistral-7B)", CHATML, "", "", CHATML_EXPECTED),
                Arguments.of("Qwen2 (ChatML with a default system message)", QWEN2, "", "", CHATML_EXPECTED),
                Arguments.of("Llama-3", LLAMA3, "", "",
                        "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
                Arguments.of("Mistral-7B-Instruct-v0.2 (no system role: polyfilled)", MISTRAL_V02, "", "</s>",
                        "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]"),
                Arguments.of("Mistral v1 (system prompt)", MISTRAL_V1, "", "</s>",
                        " [INST] You are a helpful assistant\n\nHello [/INST] Hi there</s> [INST] Who are you [/INST]    I am an assistant   </s> [INST] Another question [/INST]"),
                Arguments.of("Mistral-Large-Instruct-2411 (v7)", MISTRAL_V7, "", "</s>",
                        "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi there</s>[INST] Who are you[/INST]    I am an assistant   </s>[INST] Another question[/INST]"),
                Arguments.of("Phi-3-mini (no system role: polyfilled)", PHI3_MINI, "", "",
                        "<|user|>\nYou are a helpful assistant\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n<|user|>\nAnother question<|end|>\n<|assistant|>\n"),
                Arguments.of("Phi-3-small", PHI3_SMALL, "", "", PHI3_EXPECTED),
                Arguments.of("openchat-3.5 (Python's str.title())", OPENCHAT, "", "",
                        "GPT4 Correct System: You are a helpful assistant<|end_of_turn|>GPT4 Correct User: Hello<|end_of_turn|>GPT4 Correct Assistant: Hi there<|end_of_turn|>GPT4 Correct User: Who are you<|end_of_turn|>GPT4 Correct Assistant:    I am an assistant   <|end_of_turn|>GPT4 Correct User: Another question<|end_of_turn|>GPT4 Correct Assistant:"),
                Arguments.of("vigogne-2-70b-chat (Python's str.strip(), slices, a default system message)", VIGOGNE, "", "</s>",
                        "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s>[INST] Who are you [/INST] I am an assistant </s>[INST] Another question [/INST]"),
                Arguments.of("Phi-3-vision", PHI3_VISION, "", "", PHI3_EXPECTED),
                Arguments.of("gemma-7b-it, Gemma 2 and 3's too (no system role: polyfilled; 'model' turns; trim)", GEMMA,
                        "", "", "<start_of_turn>user\nYou are a helpful assistant\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an assistant<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("references")
    void rendersAsTheReference(String name, String source, String bos, String eos, String expected) {
        assertEquals(expected, ChatTemplate.of(source, bos, eos).render(CONVERSATION, true));
    }

    @Test
    void qwen2WithoutASystemMessageAddsItsDefault() {
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                        + "<|im_start|>assistant\n",
                ChatTemplate.of(QWEN2, "", "").render(List.of(ChatMessage.user("Hello")), true));
    }

    @Test
    void withoutGenerationPromptTheAssistantTurnIsNotOpened() {
        String text = ChatTemplate.of(CHATML, "", "").render(CONVERSATION, false);
        assertEquals(CHATML_EXPECTED.substring(0, CHATML_EXPECTED.length() - "<|im_start|>assistant\n".length()), text);
        assertEquals(PHI3_EXPECTED.substring(0, PHI3_EXPECTED.length() - "<|assistant|>\n".length()),
                ChatTemplate.of(PHI3_SMALL, "", "").render(CONVERSATION, false));
    }

    @Test
    void bosAndEosTokensAreTheGivenTexts() {
        String text = ChatTemplate.of(LLAMA3, "<|begin_of_text|>", "<|eot_id|>").render(List.of(ChatMessage.user("Hi")), true);
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", text);
    }

    @Test
    void systemSupportIsProbed() {
        assertTrue(ChatTemplate.of(CHATML, "", "").rendersSystemMessages());
        assertTrue(ChatTemplate.of(MISTRAL_V1, "", "</s>").rendersSystemMessages());
        assertFalse(ChatTemplate.of(MISTRAL_V02, "", "</s>").rendersSystemMessages());
        assertFalse(ChatTemplate.of(PHI3_MINI, "", "").rendersSystemMessages());
    }

    @Test
    void raiseExceptionBecomesATypedErrorWithTheTemplatesMessage() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of(MISTRAL_V02, "", "</s>")
                .render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true));
        assertTrue(e.getMessage().contains("Conversation roles must alternate"), e.getMessage());
    }

    @Test
    void aBrokenTemplateIsATypedError() {
        ChatTemplate t = ChatTemplate.of("{% for m in messages %}{{ m.content }", "", "");
        assertThrows(ChatTemplateException.class, () -> t.render(List.of(ChatMessage.user("x")), true));
        assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("  ", "", ""));
    }
}
