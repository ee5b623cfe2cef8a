package io.jrump.cli;

import java.io.PrintWriter;
import java.util.function.LongSupplier;
import picocli.CommandLine.Option;

/**
 * One line on stderr that says how far a long command has got, redrawn in place with '\r':
 * {@code [#########           ] 45%  36/80 files  1.2M/3.0M  4.5M/s  0:03}. Shown when asked
 * ({@code --progress}), never with {@code --no-progress}, and otherwise only on a terminal and only
 * once the work has taken {@link #AUTO_AFTER_NANOS} (e2fsck -C, dd status=progress and rsync
 * --info=progress2 in one). Without a total it counts without a bar. Not thread-safe.
 */
final class ProgressLine {
    /** Without --progress: a terminal sees the line once the work has run this long. */
    static final long AUTO_AFTER_NANOS = 2_000_000_000L;
    private static final long REDRAW_NANOS = 200_000_000L;
    private static final int BAR = 20;

    /** The {@code --[no-]progress} option, the same on every command that has a long part. */
    static final class Flag {
        @Option(names = "--progress", negatable = true,
                description = "Show progress on stderr (default: on a terminal, once the work takes over 2 s).")
        Boolean progress;

        /** A line for {@code what} ("copying", "checking"), counting {@code unit} ("files") if given. */
        ProgressLine line(PrintWriter err, String what, String unit) {
            return new ProgressLine(err, what, unit, progress, System.console() != null, System::nanoTime);
        }

        /** Whether a line may be shown at all: worth counting the totals for. */
        boolean mayShow() {
            return progress == null ? System.console() != null : progress;
        }
    }

    private final PrintWriter err;
    private final String what;
    private final String unit;
    private final Boolean asked;
    private final boolean terminal;
    private final LongSupplier clock;
    private final long start;
    private long totalBytes;
    private long totalItems;
    private long bytes;
    private long items;
    private long lastDraw;
    private boolean onLine;
    private String status = "";

    ProgressLine(PrintWriter err, String what, String unit, Boolean asked, boolean terminal, LongSupplier clock) {
        this.err = err;
        this.what = what;
        this.unit = unit;
        this.asked = asked;
        this.terminal = terminal;
        this.clock = clock;
        this.start = clock.getAsLong();
        this.lastDraw = start - REDRAW_NANOS;
    }

    /** What the whole work is, when known (0: unknown), for the bar and the percentage. */
    ProgressLine total(long totalBytes, long totalItems) {
        this.totalBytes = totalBytes;
        this.totalItems = totalItems;
        return this;
    }

    /** {@code n} more bytes done. */
    void addBytes(long n) {
        bytes += n;
        maybeDraw();
    }

    /** One more item (a file) done. */
    void addItem() {
        items++;
        maybeDraw();
    }

    /** {@code done} of {@code total} units, for work that counts its own (a check's tables or inodes): a bar, no count. */
    void setUnits(long done, long total) {
        items = done;
        totalItems = total;
        maybeDraw();
    }

    /** A few words on what is happening now (the last thing a server logged), shown after the counts. */
    void setStatus(String text) {
        status = text;
        maybeDraw();
    }

    /** The bytes done so far, for work that reports a position. */
    void setBytes(long done) {
        bytes = done;
        maybeDraw();
    }

    long items() {
        return items;
    }

    long bytes() {
        return bytes;
    }

    private boolean showing(long now) {
        if (asked != null) {
            return asked;
        }
        return terminal && now - start >= AUTO_AFTER_NANOS;
    }

    private void maybeDraw() {
        long now = clock.getAsLong();
        if (now - lastDraw >= REDRAW_NANOS && showing(now)) {
            lastDraw = now;
            draw(now);
        }
    }

    private void draw(long now) {
        err.print("\r" + text(now) + "   ");
        err.flush();
        onLine = true;
    }

    /** The line's text at {@code now}. */
    String text(long now) {
        StringBuilder sb = new StringBuilder(what);
        long percentOf = totalBytes > 0 ? totalBytes : totalItems;
        long done = totalBytes > 0 ? bytes : items;
        if (percentOf > 0) {
            int percent = (int) Math.min(100, done * 100 / percentOf);
            int bars = percent * BAR / 100;
            sb.append(" [").append("#".repeat(bars)).append(" ".repeat(BAR - bars)).append("] ").append(percent).append('%');
        }
        if (unit != null) {
            sb.append("  ").append(items).append(totalItems > 0 ? "/" + totalItems : "").append(' ').append(unit);
        }
        if (bytes > 0 || totalBytes > 0) {
            sb.append("  ").append(Sizes.human(bytes)).append(totalBytes > 0 ? "/" + Sizes.human(totalBytes) : "");
        }
        long nanos = Math.max(1, now - start);
        if (bytes > 0) {
            sb.append("  ").append(Sizes.human((long) (bytes / (nanos / 1e9)))).append("/s");
        }
        if (!status.isEmpty()) {
            sb.append("  ").append(status.length() > 100 ? status.substring(0, 97) + "..." : status);
        }
        long secs = nanos / 1_000_000_000L;
        sb.append(String.format("  %d:%02d", secs / 60, secs % 60));
        return sb.toString();
    }

    /** Ends the line so that a message can follow; the next update draws it again. */
    void breakLine() {
        if (onLine) {
            err.println();
            err.flush();
            onLine = false;
        }
    }

    /** The final state, if the line was shown (or asked for), ending its line. */
    void done() {
        long now = clock.getAsLong();
        if (onLine || showing(now)) {
            draw(now);
            breakLine();
        }
    }
}
