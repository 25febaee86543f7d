package io.clusterkv.runtime.arena;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Objects;

/**
 * Writes an arena's output folder: {@value #RESULTS_FILE} ({@link ResultsJson}) and {@value #REPORT_FILE},
 * one self-contained page that works offline: Chart.js (the WebJar {@code org.webjars.npm:chart.js},
 * MIT licence, inlined whole) draws recall against budget per policy, perplexity ratio against budget
 * (drive mode, when it ran), and cost against context length, from the results inlined as JSON; tables
 * give every figure and the per-layer recall. The page's template is the resource
 * {@value #TEMPLATE_RESOURCE}.
 *
 * <p>The WebJar is read as a class-path resource. On the module path it is an automatic module
 * ({@code chart.js}) that nothing requires: resolve it with {@code --add-modules chart.js}, or the report
 * fails with a message naming the WebJar.
 */
public final class ArenaReport {

    /** The machine-readable results. */
    public static final String RESULTS_FILE = "results.json";

    /** The HTML report. */
    public static final String REPORT_FILE = "report.html";

    /** The page's template, a class-path resource of this module. */
    public static final String TEMPLATE_RESOURCE = "/io/clusterkv/runtime/arena/report-template.html";

    /** Chart.js's UMD bundle inside its WebJar. */
    static final String CHART_JS_RESOURCE = "META-INF/resources/webjars/chart.js/4.5.1/dist/chart.umd.min.js";

    private ArenaReport() {
    }

    /**
     * Writes {@value #RESULTS_FILE} and {@value #REPORT_FILE} into a folder, creating it if needed. Each
     * file is written beside its final name and then moved into place, so a failure leaves no half file.
     *
     * @param result the result
     * @param dir    the folder
     * @return the report's path
     * @throws IOException if the folder or a file cannot be written
     */
    public static Path write(ArenaResult result, Path dir) throws IOException {
        Objects.requireNonNull(result, "result");
        Files.createDirectories(dir);
        replace(dir.resolve(RESULTS_FILE), ResultsJson.write(result));
        Path report = dir.resolve(REPORT_FILE);
        replace(report, html(result));
        return report;
    }

    private static void replace(Path target, String text) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * @param result the result
     * @return the report page
     */
    public static String html(ArenaResult result) {
        String chartJs = stripSourceMap(resource(CHART_JS_RESOURCE));
        // inside <script>, "</" would end the element: "<\/" is the same JSON string
        String json = ResultsJson.writeCompact(result).replace("</", "<\\/").replace("<!--", "<\\!--");
        return ownResource(TEMPLATE_RESOURCE)
                .replace("/*{{CHART_JS}}*/", chartJs)
                .replace("/*{{RESULTS_JSON}}*/", json);
    }

    /** Drops the trailing {@code sourceMappingURL} comment, so that no tool tries to fetch the map. */
    private static String stripSourceMap(String js) {
        int at = js.lastIndexOf("//# sourceMappingURL=");
        return at < 0 ? js : js.substring(0, at);
    }

    /** A resource of this module (its packages' resources are encapsulated from class loaders). */
    private static String ownResource(String name) {
        try (InputStream in = ArenaReport.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " is missing from the runtime jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A resource of another jar (the WebJar's {@code META-INF/resources}, which no module encapsulates). */
    private static String resource(String name) {
        ClassLoader loader = ArenaReport.class.getClassLoader();
        try (InputStream in = loader == null ? ClassLoader.getSystemResourceAsStream(name) : loader.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " is missing from the class path"
                        + (name.contains("chart.js") ? " (the WebJar org.webjars.npm:chart.js)" : ""));
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
