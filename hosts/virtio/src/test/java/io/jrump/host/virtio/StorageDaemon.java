package io.jrump.host.virtio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@code qemu-storage-daemon} exporting one image as a vhost-user-blk device on a unix socket:
 * the real back-end the virtio host's tests drive. Fails (never skips) when the daemon is missing:
 * it is in the CI package list.
 */
public final class StorageDaemon implements AutoCloseable {
    private final Process process;
    private final Path socket;
    private final Path log;

    private StorageDaemon(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    /**
     * Exports {@code image} (format {@code raw} or {@code qcow2}) at {@code socket} and waits until
     * the socket is there.
     */
    public static StorageDaemon export(Path image, String format, Path socket, boolean writable, String... extra)
            throws IOException, InterruptedException {
        Path log = Path.of(socket + ".log");
        List<String> cmd = new ArrayList<>(List.of("qemu-storage-daemon",
                "--blockdev", "driver=file,node-name=file0,filename=" + image + ",discard=unmap",
                "--blockdev", "driver=" + format + ",node-name=disk0,file=file0,discard=unmap",
                "--export", "type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=" + socket
                        + ",writable=" + (writable ? "on" : "off")));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(socket)) {
            if (!p.isAlive()) {
                throw new IOException("qemu-storage-daemon exited with " + p.exitValue() + ": " + Files.readString(log));
            }
            if (System.nanoTime() > end) {
                p.destroyForcibly();
                throw new IOException("qemu-storage-daemon made no socket at " + socket + " in 20 s");
            }
            Thread.sleep(5);
        }
        return new StorageDaemon(p, socket, log);
    }

    public Path socket() {
        return socket;
    }

    /** The {@code vhost-user:} device name of the export. */
    public String deviceName() {
        return VirtioHost.VHOST_USER_PREFIX + socket;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** What the daemon has printed so far. */
    public String output() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** Kills it at once, as a crash would. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        Files.deleteIfExists(socket);
        Files.deleteIfExists(log);
    }
}
