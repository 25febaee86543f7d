package io.clusterkv.examples.cli;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/** Strict UTF-8 decoding of the command line's text inputs (files, standard input): nothing is replaced. */
final class Utf8Text {

    private Utf8Text() {
    }

    /**
     * @param bytes  the input
     * @param source what it is, for the message (a path, "standard input")
     * @return the text
     * @throws InvalidUtf8Exception naming the source and the first bad byte
     */
    static String decode(byte[] bytes, String source) throws InvalidUtf8Exception {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            int at = in.position();
            byte[] bad = Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + Math.max(1, r.length())));
            throw new InvalidUtf8Exception(source, "at byte " + at + " (0x" + HexFormat.of().formatHex(bad) + ")");
        }
        return out.flip().toString();
    }

    /** An input that is not valid UTF-8; {@link #where()} says where, the message names the source too. */
    static final class InvalidUtf8Exception extends CharacterCodingException {
        private final String source;
        private final String where;

        InvalidUtf8Exception(String source, String where) {
            this.source = source;
            this.where = where;
        }

        /** @return the first bad byte's offset and value, e.g. {@code at byte 9 (0xc3)} */
        String where() {
            return where;
        }

        @Override
        public String getMessage() {
            return source + ": not valid UTF-8 " + where;
        }
    }
}
