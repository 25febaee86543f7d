package io.clusterkv.examples.cli;

import io.clusterkv.runtime.arena.ArenaProgress;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar on standard error (me.tongfei:progressbar), shown only when standard output is a
 * terminal and only once the run has taken more than {@value #SHOW_AFTER_MILLIS} ms, so short runs and
 * runs into a pipe or a test print nothing.
 */
final class TerminalProgress implements ArenaProgress, AutoCloseable {

    private static final long SHOW_AFTER_MILLIS = 1500;

    private final long start = System.nanoTime();
    private final boolean terminal;
    private ProgressBar bar;

    private TerminalProgress(boolean terminal) {
        this.terminal = terminal;
    }

    /** @return a progress bar when standard input and output are a terminal, else one that shows nothing */
    static TerminalProgress create() {
        java.io.Console console = System.console();
        return new TerminalProgress(console != null && console.isTerminal());
    }

    @Override
    public void update(long done, long total, String phase) {
        if (!terminal) {
            return;
        }
        if (bar == null) {
            if ((System.nanoTime() - start) / 1_000_000 < SHOW_AFTER_MILLIS) {
                return;
            }
            bar = new ProgressBarBuilder().setTaskName("arena").setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(250).setConsumer(new ConsoleProgressBarConsumer(System.err))
                    .hideEta().build();
        }
        bar.maxHint(total);
        bar.stepTo(done);
        bar.setExtraMessage(" " + phase);
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
