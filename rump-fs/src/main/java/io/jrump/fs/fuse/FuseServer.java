package io.jrump.fs.fuse;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostFuseChannel;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The FUSE request loop: each worker reads a request from the host's FUSE channel
 * ({@link HostFuseChannel}), has the {@link FuseDispatcher} answer it and writes the reply. A read that fails with {@code ENODEV}
 * means the filesystem was unmounted: that worker stops, and so do the others as their reads
 * fail the same way. {@code EINTR}, {@code EAGAIN} and {@code ENOENT} on read are retried; a reply
 * the kernel refuses with {@code ENOENT} (the request was interrupted) is dropped.
 *
 * <p>Each worker owns two direct buffers, one for requests and one for large replies, so a
 * 1 MiB WRITE or READ crosses no Java heap on its way between the channel and the block device.
 *
 * <p>The server makes no threads of its own: {@link #start} runs its workers on the executor the
 * host gives it, and {@link #serve} runs one worker on the calling thread. Thread-safe; both block.
 */
public final class FuseServer {
    private final HostFuseChannel channel;
    private final FuseDispatcher dispatcher;

    public FuseServer(HostFuseChannel channel, FuseDispatcher dispatcher) {
        this.channel = channel;
        this.dispatcher = dispatcher;
    }

    public FuseDispatcher dispatcher() {
        return dispatcher;
    }

    /**
     * Starts {@code workers} loops on {@code executor}; the future completes when all of them have
     * stopped (normally at unmount), or fails with the first channel error other than
     * {@code ENODEV}.
     */
    public CompletableFuture<Void> start(Executor executor, int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers " + workers);
        }
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        AtomicInteger running = new AtomicInteger(workers);
        for (int i = 0; i < workers; i++) {
            executor.execute(() -> {
                try {
                    loop();
                } catch (ErrnoException | RuntimeException e) {
                    stopped.completeExceptionally(e);
                } finally {
                    if (running.decrementAndGet() == 0) {
                        stopped.complete(null);
                    }
                }
            });
        }
        return stopped;
    }

    /** Runs one worker on the calling thread until the filesystem is unmounted. */
    public void serve() throws ErrnoException {
        loop();
    }

    private void loop() throws ErrnoException {
        // Direct, so that a host channel reads requests and writes READ data without a bounce copy.
        ByteBuffer buf = ByteBuffer.allocateDirect(dispatcher.requestBufferSize());
        ByteBuffer replyArea = ByteBuffer.allocateDirect(dispatcher.replyBufferSize());
        while (true) {
            buf.clear();
            int n;
            try {
                n = channel.read(buf);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ENODEV) {
                    return;
                }
                if (e.errno() == Errno.EINTR || e.errno() == Errno.EAGAIN || e.errno() == Errno.ENOENT) {
                    continue;
                }
                throw e;
            }
            ByteBuffer reply = dispatcher.handle(buf.position(0).limit(n), replyArea);
            if (reply == null) {
                continue;
            }
            try {
                channel.write(reply);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ENODEV) {
                    return;
                }
                if (e.errno() != Errno.ENOENT) {
                    throw e;
                }
            }
        }
    }
}
