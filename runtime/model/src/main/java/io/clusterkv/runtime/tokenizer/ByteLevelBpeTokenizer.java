package io.clusterkv.runtime.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE by merge rank: GGUF {@code tokenizer.ggml.model = gpt2} (GPT-2, Llama 3, Qwen2 ...).
 *
 * <p>Design notes. The text is split into words by the {@link PreTokenizer}'s regex (any stretch the
 * regex does not match is a word too). Each word's UTF-8 bytes are written one character per byte with
 * GPT-2's {@code bytes_to_unicode} alphabet (printable Latin-1 bytes stand for themselves, the other 68
 * become U+0100..U+0143), so every token is a string of those characters and a space is {@code "Ġ"}.
 * The word's characters then merge pairwise as listed in {@code tokenizer.ggml.merges}, the lowest rank
 * first and leftmost on ties, with the same linked-list and priority-queue scheme as
 * {@link SentencePieceTokenizer}; a merge's rank is looked up in a hash map keyed by the pair's text
 * {@code "left right"}, which is how the merges are stored. Final symbols that are not tokens (a broken
 * vocabulary only) fall back to their single characters, as llama.cpp does.
 *
 * <p>Decoding maps each character of a token back to its byte; USER_DEFINED and special tokens
 * render their text as it is.
 */
final class ByteLevelBpeTokenizer extends AbstractTokenizer {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[0x144];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (0x100 + extra++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private final Map<String, Integer> ranks; // "left right" -> rank
    private final PreTokenizer preTokenizer;

    ByteLevelBpeTokenizer(Vocabulary vocab, Map<String, Integer> ranks, PreTokenizer preTokenizer) {
        super(vocab, pieces(vocab));
        this.ranks = ranks;
        this.preTokenizer = preTokenizer;
    }

    /** @return the text written in the byte-level alphabet */
    static String toByteLevel(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    private static byte[][] pieces(Vocabulary vocab) {
        byte[][] pieces = new byte[vocab.size()][];
        for (int i = 0; i < pieces.length; i++) {
            String text = vocab.texts[i];
            TokenType t = vocab.types[i];
            int b = t == TokenType.BYTE ? byteOfFallbackText(text) : -1;
            if (b >= 0) {
                pieces[i] = new byte[] {(byte) b};
            } else if (t == TokenType.NORMAL || t == TokenType.UNDEFINED || t == TokenType.BYTE) {
                pieces[i] = fromByteLevel(text);
            } else {
                pieces[i] = text.getBytes(StandardCharsets.UTF_8);
            }
        }
        return pieces;
    }

    /** Maps characters back to bytes; a character outside the alphabet stands for its own UTF-8. */
    private static byte[] fromByteLevel(String text) {
        byte[] out = new byte[text.length()];
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                return slowFromByteLevel(text);
            }
            out[i] = (byte) b;
        }
        return out;
    }

    private static byte[] slowFromByteLevel(String text) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(text.length() + 8);
        text.codePoints().forEach(cp -> {
            int b = cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
            }
        });
        return out.toByteArray();
    }

    @Override
    void encodeText(String text, boolean afterSpecial, IntList out) {
        Merger merger = new Merger();
        for (String word : preTokenizer.split(text)) {
            merger.encodeWord(toByteLevel(word), out);
        }
    }

    private record Bigram(int left, int right, int rank, int length) {
    }

    /** Scratch space for merging the words of one call, grown as needed. */
    private final class Merger {
        int[] length = new int[32]; // symbol i starts at char i; its length, 0 once merged into the left
        int[] prev = new int[32];
        int[] next = new int[32];
        final StringBuilder key = new StringBuilder();
        final PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.rank != b.rank
                ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left));

        void encodeWord(String w, IntList out) {
            Integer whole = vocab.idsByText.get(w);
            if (whole != null && (w.length() == 1 || preTokenizer.wholeWordsFirst)) {
                out.add(whole);
                return;
            }
            int n = w.length();
            if (length.length < n) {
                int cap = Math.max(n, length.length * 2);
                length = new int[cap];
                prev = new int[cap];
                next = new int[cap];
            }
            for (int i = 0; i < n; i++) {
                length[i] = 1;
                prev[i] = i - 1;
                next[i] = i + 1;
            }
            next[n - 1] = -1;
            queue.clear();
            for (int i = 1; i < n; i++) {
                offer(w, i - 1, i);
            }
            while (!queue.isEmpty()) {
                Bigram g = queue.poll();
                int l = g.left;
                int r = g.right;
                if (length[l] == 0 || length[r] == 0 || length[l] + length[r] != g.length) {
                    continue; // stale: one side was merged since
                }
                length[l] += length[r];
                length[r] = 0;
                next[l] = next[r];
                if (next[r] >= 0) {
                    prev[next[r]] = l;
                }
                offer(w, prev[l], l);
                offer(w, l, next[l]);
            }
            for (int i = 0; i != -1; i = next[i]) {
                String symbol = w.substring(i, i + length[i]);
                Integer id = vocab.idsByText.get(symbol);
                if (id != null) {
                    out.add(id);
                    continue;
                }
                for (int c = 0; c < symbol.length(); c++) {
                    Integer single = vocab.idsByText.get(String.valueOf(symbol.charAt(c)));
                    if (single != null) {
                        out.add(single);
                    } else if (vocab.unk >= 0) {
                        out.add(vocab.unk);
                    } else {
                        throw new IllegalArgumentException("cannot encode byte 0x" + Integer.toHexString(
                                CHAR_TO_BYTE[symbol.charAt(c)]) + ": the vocabulary has no token for it and no unknown token");
                    }
                }
            }
        }

        private void offer(String w, int left, int right) {
            if (left < 0 || right < 0) {
                return;
            }
            int mid = left + length[left];
            int end = mid + length[right];
            key.setLength(0);
            key.append(w, left, mid).append(' ').append(w, mid, end);
            Integer rank = ranks.get(key.toString());
            if (rank != null) {
                queue.add(new Bigram(left, right, rank, end - left));
            }
        }
    }

    static Map<String, Integer> ranksOf(String[] merges) {
        Map<String, Integer> ranks = HashMap.newHashMap(merges.length);
        for (int i = 0; i < merges.length; i++) {
            ranks.putIfAbsent(merges[i], i);
        }
        return ranks;
    }
}
