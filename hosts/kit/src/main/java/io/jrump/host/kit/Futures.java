package io.jrump.host.kit;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** The result of a finished future as {@link io.jrump.hypercall.HostScheduler#await} reports it. */
public final class Futures {
    private Futures() {
    }

    /**
     * Blocks until the future is done and returns its value, unwrapping its failure: an
     * {@link ErrnoException} as it is, unchecked exceptions and errors as they are, anything else
     * as {@code EIO}; cancellation as {@code ECANCELED}; an interrupt as {@code EINTR}.
     */
    public static <T> T join(CompletableFuture<T> future) throws ErrnoException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ErrnoException(Errno.EINTR, "interrupted while waiting", e);
        } catch (CancellationException e) {
            throw new ErrnoException(Errno.ECANCELED, "operation cancelled", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ErrnoException ee) {
                // A fresh exception carries this thread's stack; the original stays as the cause.
                throw new ErrnoException(ee.errno(), ee.detail(), ee);
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new ErrnoException(Errno.EIO, String.valueOf(cause), cause);
        }
    }
}
