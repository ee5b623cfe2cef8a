package io.jrump.fs.fuse;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostFuseChannel;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/** A FUSE channel over queues: canned requests in, replies collected; ENODEV (unmounted) once the requests run out. */
final class MemoryFuseChannel implements HostFuseChannel {
    private final ConcurrentLinkedQueue<byte[]> requests = new ConcurrentLinkedQueue<>();
    private final List<byte[]> replies = new ArrayList<>();

    void enqueue(byte[] request) {
        requests.add(request);
    }

    @Override
    public int read(ByteBuffer into) throws ErrnoException {
        byte[] r = requests.poll();
        if (r == null) {
            throw new ErrnoException(Errno.ENODEV, "unmounted");
        }
        if (r.length > into.remaining()) {
            throw new ErrnoException(Errno.EINVAL, "buffer of " + into.remaining() + " for " + r.length);
        }
        into.put(r);
        return r.length;
    }

    @Override
    public synchronized void write(ByteBuffer reply) {
        byte[] b = new byte[reply.remaining()];
        reply.get(b);
        replies.add(b);
    }

    @Override
    public String mountpoint() {
        return "/memory";
    }

    @Override
    public void unmount() {
        requests.clear();
    }

    @Override
    public void close() {
        requests.clear();
    }

    synchronized List<byte[]> takeReplies() {
        List<byte[]> out = new ArrayList<>(replies);
        replies.clear();
        return out;
    }
}
