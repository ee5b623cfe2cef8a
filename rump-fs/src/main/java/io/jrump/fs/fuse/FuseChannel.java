package io.jrump.fs.fuse;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostFuseChannel;
import java.nio.ByteBuffer;

/**
 * Where FUSE requests come from and replies go, as {@code /dev/fuse} behaves: one whole request per
 * {@link #read}, one whole reply per {@link #write}. Implementations are thread-safe: several
 * workers read and write concurrently. Both calls block.
 */
public interface FuseChannel {
    /**
     * Reads one request into {@code into}, from its position on, and returns its length in bytes
     * (the position is left after it).
     *
     * @throws ErrnoException {@code ENODEV} once the filesystem is unmounted (the server stops);
     *     {@code EINTR}/{@code EAGAIN}/{@code ENOENT} are retried by the server
     */
    int read(ByteBuffer into) throws ErrnoException;

    /**
     * Writes one reply, from the buffer's position to its limit.
     *
     * @throws ErrnoException {@code ENOENT} if the request was interrupted meanwhile (ignored by the
     *     server), {@code ENODEV} once unmounted
     */
    void write(ByteBuffer reply) throws ErrnoException;

    /**
     * The channel of a host's FUSE mount ({@code Hypercalls.fuse()}): reads and writes go straight
     * to it. Unmounting and closing stay with the caller, who owns {@code host}.
     */
    static FuseChannel of(HostFuseChannel host) {
        return new FuseChannel() {
            @Override
            public int read(ByteBuffer into) throws ErrnoException {
                return host.read(into);
            }

            @Override
            public void write(ByteBuffer reply) throws ErrnoException {
                host.write(reply);
            }

            @Override
            public String toString() {
                return "FuseChannel[" + host + "]";
            }
        };
    }
}
