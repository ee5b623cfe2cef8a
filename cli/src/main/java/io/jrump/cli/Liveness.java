package io.jrump.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether another process is still getting somewhere: its I/O counters ({@code /proc/PID/io}: bytes
 * read and written through system calls) and, if it has one, its log file growing. A command that
 * waits for it (a mount coming up after a journal replay, an unmount writing back a large cache)
 * gives up only after a while without either, not at a fixed time. Not thread-safe.
 */
final class Liveness {
    private static final int TAIL_BYTES = 4096;

    private final Path io;
    private final Path log;
    private final long startWritten;
    private long lastSample = -1;
    private long lastProgressNanos = System.nanoTime();
    private long written;

    /** Watches process {@code pid}, and {@code log} (may be null). */
    Liveness(long pid, Path log) {
        this.io = Path.of("/proc", Long.toString(pid), "io");
        this.log = log;
        long[] c = counters();
        this.startWritten = c == null ? 0 : c[1];
    }

    /** Whether the process did I/O or logged within the last {@code nanos} (sampling now). */
    boolean progressedWithin(long nanos) {
        long[] c = counters();
        long sample = (c == null ? 0 : c[0] + c[1]) + logSize();
        long now = System.nanoTime();
        if (sample != lastSample) {
            lastSample = sample;
            lastProgressNanos = now;
        }
        if (c != null) {
            written = c[1] - startWritten;
        }
        return now - lastProgressNanos < nanos;
    }

    /** Bytes the process has written since this started watching (as of the last sample). */
    long written() {
        return written;
    }

    /** The log's last line, without SLF4J's level and logger prefix; "" if none. */
    String lastLogLine() {
        if (log == null) {
            return "";
        }
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            byte[] b = new byte[(int) Math.min(TAIL_BYTES, len)];
            f.seek(len - b.length);
            f.readFully(b);
            String[] lines = new String(b, StandardCharsets.UTF_8).strip().split("\n");
            String last = lines.length == 0 ? "" : lines[lines.length - 1].strip();
            return last.replaceFirst("^(INFO|WARN|ERROR|DEBUG|TRACE) console - ", "");
        } catch (IOException e) {
            return "";
        }
    }

    private long logSize() {
        try {
            return log == null ? 0 : Files.size(log);
        } catch (IOException e) {
            return 0;
        }
    }

    /** {rchar, wchar} from /proc/PID/io, or null if it cannot be read (gone, or not ours to read). */
    private long[] counters() {
        try {
            long r = -1;
            long w = -1;
            for (String line : Files.readAllLines(io)) {
                if (line.startsWith("rchar: ")) {
                    r = Long.parseLong(line.substring(7).trim());
                } else if (line.startsWith("wchar: ")) {
                    w = Long.parseLong(line.substring(7).trim());
                }
            }
            return r < 0 || w < 0 ? null : new long[] {r, w};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
