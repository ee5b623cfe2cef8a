package io.jrump.host.linux;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Blocking wrappers around {@link HostBlockDevice}'s completions, for tests. */
final class BlockIo {
    private BlockIo() {
    }

    record Result(long bytes, Errno error) {
    }

    private static Result await(CompletableFuture<Result> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    static Result read(HostBlockDevice dev, long offset, ByteBuffer dst) throws Exception {
        CompletableFuture<Result> f = new CompletableFuture<>();
        dev.read(offset, dst, (n, e) -> f.complete(new Result(n, e)));
        return await(f);
    }

    static Result write(HostBlockDevice dev, long offset, ByteBuffer src) throws Exception {
        CompletableFuture<Result> f = new CompletableFuture<>();
        dev.write(offset, src, (n, e) -> f.complete(new Result(n, e)));
        return await(f);
    }

    static Result flush(HostBlockDevice dev) throws Exception {
        CompletableFuture<Result> f = new CompletableFuture<>();
        dev.flush((n, e) -> f.complete(new Result(n, e)));
        return await(f);
    }

    static Result discard(HostBlockDevice dev, long offset, long length) throws Exception {
        CompletableFuture<Result> f = new CompletableFuture<>();
        dev.discard(offset, length, (n, e) -> f.complete(new Result(n, e)));
        return await(f);
    }
}
