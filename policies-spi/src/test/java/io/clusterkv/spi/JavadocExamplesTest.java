package io.clusterkv.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The SPI's javadoc examples are compiled code that passes the conformance kit: each inline
 * {@code {@snippet id="x" :}} of a main source equals the region {@code x} of a test source
 * ({@code // @start region="x"} to {@code // @end}), up to indentation.
 */
class JavadocExamplesTest {

    private static final Path MAIN = Path.of("src/main/java/io/clusterkv/spi");
    private static final Path TEST = Path.of("src/test/java/io/clusterkv/spi");

    @ParameterizedTest
    @CsvSource({
        "RecallPolicy.java, recent-policy, RecentPolicy.java",
        "PageScoringPolicy.java, max-key-page-policy, MaxKeyPagePolicy.java",
    })
    void javadocShowsTheTestedCode(String documented, String id, String tested) throws IOException {
        assertEquals(region(Files.readString(TEST.resolve(tested)), id),
                snippet(Files.readString(MAIN.resolve(documented)), id),
                "the snippet '" + id + "' of " + documented + " differs from the region '" + id + "' of " + tested);
    }

    /** The body of {@code {@snippet ... id="x" :} ... }} (its braces balance), javadoc's leading {@code " * "} removed. */
    static String snippet(String source, String id) {
        Matcher m = Pattern.compile("\\{@snippet[^:\\n]*id=\"" + Pattern.quote(id) + "\"[^:\\n]*:\\n").matcher(source);
        if (!m.find()) {
            throw new AssertionError("no {@snippet id=\"" + id + "\" :} in the javadoc");
        }
        int depth = 1;
        int end = m.end();
        for (; depth > 0; end++) {
            char c = source.charAt(end);
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
        }
        String body = source.substring(m.end(), end - 1); // up to the snippet's closing brace
        return dedent(body.lines().map(l -> l.replaceFirst("^\\s*\\*( |$)", "")).toList()).strip();
    }

    /** The lines between {@code // @start region="x"} and the next {@code // @end}. */
    static String region(String source, String id) {
        Matcher m = Pattern.compile("// @start region=\"" + Pattern.quote(id) + "\"\\n(.*?)\\n\\s*// @end",
                Pattern.DOTALL).matcher(source);
        if (!m.find()) {
            throw new AssertionError("no region '" + id + "'");
        }
        return dedent(m.group(1).lines().toList()).strip();
    }

    private static String dedent(List<String> lines) {
        int indent = lines.stream().filter(l -> !l.isBlank())
                .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        return String.join("\n", lines.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).toList());
    }
}
