package io.clusterkv.runtime.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * What both tokenizer families share: splitting the input around special tokens, the pieces each id
 * renders as, decoding, the vocabulary accessors. A subclass supplies the encoding of plain text
 * ({@link #encodeText}) and the rendered bytes of each token.
 *
 * <p>Special-token splitting follows llama.cpp: the eligible special tokens (CONTROL and UNKNOWN only
 * when parsing special tokens, USER_DEFINED always), longest text first, each cut out of every plain
 * fragment left by the previous ones. Plain fragments are then encoded independently.
 */
abstract sealed class AbstractTokenizer implements Tokenizer permits SentencePieceTokenizer, ByteLevelBpeTokenizer {
    static final byte[] EMPTY = new byte[0];

    final Vocabulary vocab;
    private final byte[][] pieces; // (vocab) bytes each token renders as, special tokens as their text

    AbstractTokenizer(Vocabulary vocab, byte[][] pieces) {
        this.vocab = vocab;
        this.pieces = pieces;
    }

    /**
     * Encodes a fragment of plain text (no special tokens in it).
     *
     * @param text          non-empty plain text
     * @param afterSpecial  whether it starts the input or follows a special token
     * @param out           where ids go
     */
    abstract void encodeText(String text, boolean afterSpecial, IntList out);

    /** @return how many leading bytes of the first rendered piece are the dummy prefix (0 or 1) */
    int dummyPrefixLength(int id, byte[] piece) {
        return 0;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 2);
        if (addBos && vocab.bos >= 0) {
            out.add(vocab.bos);
        }
        if (text.isEmpty()) {
            return out.toArray();
        }
        boolean afterSpecial = true;
        for (Fragment f : splitSpecial(text, parseSpecial)) {
            if (f.id >= 0) {
                out.add(f.id);
                afterSpecial = true;
            } else {
                encodeText(text.substring(f.start, f.end), afterSpecial, out);
                afterSpecial = false;
            }
        }
        return out.toArray();
    }

    /** A stretch of the input: plain text {@code [start, end)} when {@code id < 0}, else one special token. */
    private record Fragment(int start, int end, int id) {
    }

    private List<Fragment> splitSpecial(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        fragments.add(new Fragment(0, text.length(), -1));
        for (int id : vocab.specialsLongestFirst) {
            if (!parseSpecial && vocab.types[id] != TokenType.USER_DEFINED) {
                continue;
            }
            String s = vocab.texts[id];
            if (!text.contains(s)) {
                continue;
            }
            List<Fragment> next = new ArrayList<>(fragments.size() + 4);
            for (Fragment f : fragments) {
                if (f.id >= 0 || f.end - f.start < s.length()) {
                    next.add(f);
                    continue;
                }
                int from = f.start;
                int at;
                while ((at = text.indexOf(s, from, f.end)) >= 0) {
                    if (at > from) {
                        next.add(new Fragment(from, at, -1));
                    }
                    next.add(new Fragment(at, at + s.length(), id));
                    from = at + s.length();
                }
                if (from < f.end) {
                    next.add(new Fragment(from, f.end, -1));
                }
            }
            fragments = next;
        }
        return fragments;
    }

    /** The bytes a token renders as; not a copy. */
    final byte[] piece(int id, boolean renderSpecial) {
        vocab.checkId(id);
        return !renderSpecial && vocab.types[id].renderedOnlyWhenSpecial() ? EMPTY : pieces[id];
    }

    @Override
    public final byte[] pieceBytes(int id, boolean renderSpecial) {
        return piece(id, renderSpecial).clone();
    }

    @Override
    public final String decode(int[] ids, boolean renderSpecial) {
        for (int id : ids) {
            vocab.checkId(id);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
        boolean atStart = true;
        for (int id : ids) {
            byte[] piece = piece(id, renderSpecial);
            int from = 0;
            if (atStart && piece.length > 0) {
                from = dummyPrefixLength(id, piece);
                atStart = false;
            }
            bytes.write(piece, from, piece.length - from);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public final StreamingDecoder decoder(boolean renderSpecial, boolean atTextStart) {
        return new StreamingDecoder(this, renderSpecial, atTextStart);
    }

    @Override
    public final int vocabSize() {
        return vocab.size();
    }

    @Override
    public final String tokenText(int id) {
        vocab.checkId(id);
        return vocab.texts[id];
    }

    @Override
    public final TokenType tokenType(int id) {
        vocab.checkId(id);
        return vocab.types[id];
    }

    @Override
    public final OptionalInt tokenId(String tokenText) {
        Integer id = vocab.idsByText.get(tokenText);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public final OptionalInt bosId() {
        return optional(vocab.bos);
    }

    @Override
    public final OptionalInt eosId() {
        return optional(vocab.eos);
    }

    @Override
    public final OptionalInt eotId() {
        return optional(vocab.eot);
    }

    @Override
    public final OptionalInt unknownId() {
        return optional(vocab.unk);
    }

    @Override
    public final boolean addBosByDefault() {
        return vocab.addBos;
    }

    private static OptionalInt optional(int id) {
        return id >= 0 ? OptionalInt.of(id) : OptionalInt.empty();
    }

    /** @return the byte of a byte-fallback token's text {@code <0xNN>}, or -1 if the text is not one */
    static int byteOfFallbackText(String text) {
        if (text.length() == 6 && text.startsWith("<0x") && text.charAt(5) == '>') {
            int hi = Character.digit(text.charAt(3), 16);
            int lo = Character.digit(text.charAt(4), 16);
            if (hi >= 0 && lo >= 0) {
                return hi << 4 | lo;
            }
        }
        return -1;
    }
}
