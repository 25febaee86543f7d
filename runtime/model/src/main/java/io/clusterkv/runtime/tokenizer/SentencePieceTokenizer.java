package io.clusterkv.runtime.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece-style BPE by piece scores, with byte fallback: GGUF {@code tokenizer.ggml.model = llama}
 * and llama2.c {@code tokenizer.bin}.
 *
 * <p>Design notes. The text (with a leading space when it starts the input or follows a special token,
 * if the vocabulary asks for the dummy prefix) has its spaces written {@code "▁"} and is cut into one
 * symbol per code point, kept as a doubly linked list over arrays. Every adjacent pair whose
 * concatenation is a piece goes into a priority queue ordered by that piece's score, highest first,
 * leftmost on ties. The best pair is merged, its neighbours' pairs are queued, and entries made stale
 * by earlier merges are recognised by their length no longer matching and skipped: O(n log n) as in
 * llama.cpp's {@code llm_tokenizer_spm}, not the O(n^2) rescans of llama2.c. A final symbol that is
 * not a piece is spelled as byte tokens {@code <0xNN>} of its UTF-8 bytes (or, where the vocabulary
 * has no byte tokens, as the unknown token).
 *
 * <p>Only NORMAL, UNDEFINED and USER_DEFINED tokens take part in merges, as in SentencePiece: control
 * text such as {@code "<s>"} in the input never becomes a control token by merging.
 */
final class SentencePieceTokenizer extends AbstractTokenizer {
    private static final char SPACE_MARK = '\u2581';

    private final Map<String, Integer> pieceIds; // mergeable pieces only
    private final int[] byteIds;                 // (256) token for each byte, -1 if none
    private final boolean addSpacePrefix;

    SentencePieceTokenizer(Vocabulary vocab, boolean addSpacePrefix) {
        super(vocab, pieces(vocab));
        this.addSpacePrefix = addSpacePrefix;
        this.pieceIds = HashMap.newHashMap(vocab.size());
        for (int i = 0; i < vocab.size(); i++) {
            TokenType t = vocab.types[i];
            if (t == TokenType.NORMAL || t == TokenType.UNDEFINED || t == TokenType.USER_DEFINED) {
                pieceIds.put(vocab.texts[i], i);
            }
        }
        this.byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.idsByText.get(String.format("<0x%02X>", b));
            if (id == null && b < 0x80) {
                id = pieceIds.get(String.valueOf((char) b));
            }
            byteIds[b] = id == null ? -1 : id;
        }
    }

    private static byte[][] pieces(Vocabulary vocab) {
        byte[][] pieces = new byte[vocab.size()][];
        for (int i = 0; i < pieces.length; i++) {
            String text = vocab.texts[i];
            int b = vocab.types[i] == TokenType.BYTE ? byteOfFallbackText(text) : -1;
            if (b >= 0) {
                pieces[i] = new byte[] {(byte) b};
            } else if (vocab.types[i].renderedOnlyWhenSpecial()) {
                pieces[i] = text.getBytes(StandardCharsets.UTF_8);
            } else {
                pieces[i] = text.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
            }
        }
        return pieces;
    }

    @Override
    int dummyPrefixLength(int id, byte[] piece) {
        TokenType t = vocab.types[id];
        return addSpacePrefix && piece[0] == ' ' && (t == TokenType.NORMAL || t == TokenType.UNDEFINED
                || t == TokenType.USER_DEFINED) ? 1 : 0;
    }

    private record Bigram(int left, int right, float score, int length) {
    }

    @Override
    void encodeText(String fragment, boolean afterSpecial, IntList out) {
        String s = (addSpacePrefix && afterSpecial ? " " + fragment : fragment).replace(' ', SPACE_MARK);
        int cap = s.length();
        int[] start = new int[cap];
        int[] length = new int[cap]; // in chars; 0 once merged into the left neighbour
        int[] prev = new int[cap];
        int[] next = new int[cap];
        int n = 0;
        for (int i = 0; i < s.length(); n++) {
            int len = Character.charCount(s.codePointAt(i));
            start[n] = i;
            length[n] = len;
            prev[n] = n - 1;
            next[n] = n + 1;
            i += len;
        }
        next[n - 1] = -1;

        PriorityQueue<Bigram> queue = new PriorityQueue<>(Math.max(n, 1), (a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) {
            offer(queue, s, start, length, i - 1, i);
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
            offer(queue, s, start, length, prev[l], l);
            offer(queue, s, start, length, l, next[l]);
        }
        for (int i = 0; i != -1; i = next[i]) {
            String symbol = s.substring(start[i], start[i] + length[i]);
            Integer id = pieceIds.get(symbol);
            if (id != null) {
                out.add(id);
            } else {
                spellAsBytes(symbol, out);
            }
        }
    }

    private void offer(PriorityQueue<Bigram> queue, String s, int[] start, int[] length, int left, int right) {
        if (left < 0 || right < 0) {
            return;
        }
        int from = start[left];
        int to = from + length[left] + length[right];
        Integer id = pieceIds.get(s.substring(from, to));
        if (id != null) {
            queue.add(new Bigram(left, right, vocab.scores[id], to - from));
        }
    }

    private void spellAsBytes(String symbol, IntList out) {
        byte[] bytes = symbol.getBytes(StandardCharsets.UTF_8);
        boolean all = true;
        for (byte b : bytes) {
            all &= byteIds[b & 0xFF] >= 0;
        }
        if (all) {
            for (byte b : bytes) {
                out.add(byteIds[b & 0xFF]);
            }
        } else if (vocab.unk >= 0) {
            out.add(vocab.unk);
        } else {
            throw new IllegalArgumentException("cannot encode '" + symbol.replace(SPACE_MARK, ' ') + "' (U+"
                    + Integer.toHexString(symbol.codePointAt(0)).toUpperCase() + "): the vocabulary has no piece, "
                    + "no byte tokens <0xNN> and no unknown token for it");
        }
    }
}
