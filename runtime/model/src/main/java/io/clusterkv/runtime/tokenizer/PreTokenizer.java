package io.clusterkv.runtime.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The regexes that split text into words before byte-level BPE, chosen by GGUF
 * {@code tokenizer.ggml.pre}. The expressions are those of the models' Hugging Face
 * {@code tokenizer.json} (also in llama.cpp's {@code llama-vocab.cpp}), compiled with
 * {@link Pattern#UNICODE_CHARACTER_CLASS} so that {@code \s} is Unicode White_Space as there;
 * {@code \p{L}} and {@code \p{N}} are Unicode categories in any case. {@code \s+(?!\S)} needs no
 * emulation: java.util.regex backtracks into the lookahead, so a run of spaces before a word leaves its
 * last space to the word (" ?\p{L}+").
 */
enum PreTokenizer {
    /** GPT-2 and the many models that copied it. */
    GPT2("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            false, List.of("gpt-2", "default", "gpt2", "mpt", "olmo", "jais")),
    /** Llama 3: case-insensitive contractions, numbers in groups of up to three, newlines apart. */
    LLAMA3("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            true, List.of("llama-bpe", "llama3", "llama-v3", "dbrx", "smaug-bpe", "falcon3", "pixtral")),
    /** Qwen2: as Llama 3 but one digit per word, and merges always applied. */
    QWEN2("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            false, List.of("qwen2", "deepseek-r1-qwen", "megrez"));

    final Pattern pattern;
    /** Whether a word that is a whole token is taken as it is, without merging (Llama 3's {@code ignore_merges}). */
    final boolean wholeWordsFirst;
    final List<String> names;

    PreTokenizer(String regex, boolean wholeWordsFirst, List<String> names) {
        this.pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        this.wholeWordsFirst = wholeWordsFirst;
        this.names = names;
    }

    /**
     * Splits text into words: the regex's matches, and any stretch between them (the expressions above
     * leave none, but a word is never dropped).
     */
    List<String> split(String text) {
        List<String> words = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) {
                continue;
            }
            if (m.start() > last) {
                words.add(text.substring(last, m.start()));
            }
            words.add(m.group());
            last = m.end();
        }
        if (last < text.length()) {
            words.add(text.substring(last));
        }
        return words;
    }

    /** @return the pre-tokenizer for a {@code tokenizer.ggml.pre} value, or {@code null} if unknown */
    static PreTokenizer forName(String name) {
        for (PreTokenizer p : values()) {
            if (p.names.contains(name)) {
                return p;
            }
        }
        return null;
    }

    /** @return every accepted {@code tokenizer.ggml.pre} value, for error messages */
    static String knownNames() {
        StringBuilder sb = new StringBuilder();
        for (PreTokenizer p : values()) {
            for (String n : p.names) {
                sb.append(sb.isEmpty() ? "" : ", ").append(n);
            }
        }
        return sb.toString();
    }
}
