package io.clusterkv.runtime.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns token ids into text one token at a time, for streamed output. A token may end in the middle of
 * a UTF-8 character (a byte-fallback token {@code <0xF0>}, or a byte-level BPE token carrying two of an
 * emoji's four bytes); those bytes are held back until the tokens that complete the character arrive,
 * so every string returned is whole characters. Bytes that can never form a character become U+FFFD.
 *
 * <p>The concatenation of every {@link #next(int)} and a final {@link #flush()} equals
 * {@link Tokenizer#decode(int[], boolean)} of the same ids (when the decoder was made with
 * {@code atTextStart = true}).
 *
 * <p>Not thread-safe: one decoder per output stream.
 */
public final class StreamingDecoder {
    private final AbstractTokenizer tokenizer;
    private final boolean renderSpecial;
    private boolean atStart;
    private byte[] pending = new byte[16];
    private int pendingLength;

    StreamingDecoder(AbstractTokenizer tokenizer, boolean renderSpecial, boolean atTextStart) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
        this.atStart = atTextStart;
    }

    /**
     * Adds one token.
     *
     * @param id a token id
     * @return the text completed by this token: possibly empty (a special token left out, or the start
     *         of a character whose other bytes are still to come), possibly more than this token's own
     *         text (the end of a character begun by earlier tokens)
     * @throws IllegalArgumentException if the id is outside the vocabulary; the decoder is unchanged
     */
    public String next(int id) {
        byte[] piece = tokenizer.piece(id, renderSpecial);
        int from = 0;
        if (atStart && piece.length > 0) {
            from = tokenizer.dummyPrefixLength(id, piece);
            atStart = false;
        }
        int n = piece.length - from;
        if (pendingLength + n > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + n));
        }
        System.arraycopy(piece, from, pending, pendingLength, n);
        pendingLength += n;
        int complete = completePrefix(pending, pendingLength);
        if (complete == 0) {
            return "";
        }
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, pendingLength - complete);
        pendingLength -= complete;
        return text;
    }

    /**
     * Ends the stream: returns the bytes still held back (an incomplete character, as U+FFFD) and
     * empties the decoder. Decoding may go on afterwards.
     *
     * @return the remaining text, usually empty
     */
    public String flush() {
        String text = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
        pendingLength = 0;
        return text;
    }

    /** @return the number of bytes held back, waiting for the rest of a character */
    public int pendingBytes() {
        return pendingLength;
    }

    /**
     * The length of the longest prefix that does not end inside a UTF-8 sequence which later bytes
     * could still complete. Only the last lead byte (within the last four bytes) can start such a
     * sequence; anything malformed before it is left for the UTF-8 decoder to replace.
     */
    static int completePrefix(byte[] b, int length) {
        for (int i = length - 1; i >= Math.max(0, length - 4); i--) {
            int c = b[i] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte
            }
            int need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return length - i < need ? i : length;
        }
        return length;
    }
}
