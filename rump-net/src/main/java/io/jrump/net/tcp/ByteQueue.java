package io.jrump.net.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * A byte stream held as a queue of reference-counted chunks: a socket's send queue (bytes from
 * SND.UNA on) or its receive queue (bytes the application has not read). Bytes come in either
 * copied into chunks this queue allocates from a pooled allocator — the one copy a BSD or NIO
 * caller pays — or as buffers handed over whole (a Netty application's {@code ByteBuf}: no copy).
 * They go out copied (into a segment being built, or into the caller's buffer) or as retained
 * slices (no copy).
 *
 * <p>Memory: an empty queue holds no chunk, so an idle connection costs nothing here; a chunk
 * goes back to the pool as soon as its last byte is dropped. {@link #release()} gives back
 * everything; the owner must call it when it is done with the queue. Not thread-safe: one
 * connection's, on the stack's event loop.
 */
public final class ByteQueue {
    /** Size of the chunks this queue allocates for copied bytes. */
    public static final int CHUNK = 16 * 1024;

    private final ByteBufAllocator alloc;
    /** Readable bytes of each chunk are the queued ones; the head's reader index moves as bytes drop. */
    private ArrayDeque<ByteBuf> chunks; // made at the first byte: an idle connection's queues cost two empty objects
    /** The last chunk, if this queue allocated it and may append to it; else null. */
    private ByteBuf writableTail;
    private long size;

    public ByteQueue(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    /** Bytes queued. */
    public long size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Copies up to {@code max} bytes from {@code src} (advancing its position); returns how many. */
    public int append(ByteBuffer src, int max) {
        int todo = Math.min(max, src.remaining());
        int done = 0;
        while (done < todo) {
            ByteBuf tail = tailWithRoom(todo - done);
            int n = Math.min(todo - done, tail.writableBytes());
            int limit = src.limit();
            src.limit(src.position() + n);
            tail.writeBytes(src);
            src.limit(limit);
            done += n;
        }
        size += done;
        return done;
    }

    /** Copies {@code length} bytes of {@code src} from {@code index} (its indices unchanged). */
    public void append(ByteBuf src, int index, int length) {
        int done = 0;
        while (done < length) {
            ByteBuf tail = tailWithRoom(length - done);
            int n = Math.min(length - done, tail.writableBytes());
            tail.writeBytes(src, index + done, n);
            done += n;
        }
        size += length;
    }

    /** Copies {@code length} bytes of an array. */
    public void append(byte[] src, int offset, int length) {
        append(io.netty.buffer.Unpooled.wrappedBuffer(src, offset, length), 0, length);
    }

    /**
     * Takes {@code buf}'s readable bytes without copying: the queue owns the caller's reference from
     * now on and releases it once the bytes are dropped. An empty buffer is released at once.
     */
    public void appendOwned(ByteBuf buf) {
        int n = buf.readableBytes();
        if (n == 0) {
            buf.release();
            return;
        }
        chunks().add(buf);
        writableTail = null;
        size += n;
    }

    private ArrayDeque<ByteBuf> chunks() {
        if (chunks == null) {
            chunks = new ArrayDeque<>(4);
        }
        return chunks;
    }

    private ByteBuf tailWithRoom(int wanted) {
        if (writableTail == null || !writableTail.isWritable()) {
            writableTail = alloc.directBuffer(Math.max(CHUNK, Math.min(wanted, 64 * 1024)));
            chunks().add(writableTail);
        }
        return writableTail;
    }

    /**
     * {@code length} queued bytes from {@code offset} as a buffer that shares their memory: valid
     * only until the queue next changes, and not to be released (it holds no reference).
     */
    public ByteBuf view(long offset, int length) {
        checkRange(offset, length);
        if (length == 0) {
            return io.netty.buffer.Unpooled.EMPTY_BUFFER;
        }
        long skip = offset;
        CompositeByteBuf parts = null;
        int done = 0;
        for (ByteBuf c : chunks) {
            int readable = c.readableBytes();
            if (skip >= readable) {
                skip -= readable;
                continue;
            }
            int n = (int) Math.min(readable - skip, length - done);
            ByteBuf part = c.slice(c.readerIndex() + (int) skip, n);
            if (n == length) {
                return part;
            }
            if (parts == null) {
                // No limit on the parts: past its limit a composite consolidates, which copies
                // and releases its parts — references this view never took.
                parts = io.netty.buffer.Unpooled.compositeBuffer(Integer.MAX_VALUE);
            }
            parts.addComponent(true, part); // holds no reference of its own: never released
            done += n;
            skip = 0;
            if (done == length) {
                break;
            }
        }
        return parts;
    }

    /** Copies up to {@code dst.remaining()} bytes from the head into {@code dst}, and drops them. */
    public int read(ByteBuffer dst) {
        int todo = (int) Math.min(dst.remaining(), size);
        takeFromHead(todo, (head, n) -> {
            int limit = dst.limit();
            dst.limit(dst.position() + n);
            head.readBytes(dst);
            dst.limit(limit);
        });
        return todo;
    }

    /**
     * Up to {@code max} bytes from the head as a buffer the caller owns (one reference), without
     * copying: a retained slice of one chunk, or a composite of several. Empty when nothing is queued.
     */
    public ByteBuf readRetained(int max) {
        int todo = (int) Math.min(max, size);
        if (todo == 0) {
            return io.netty.buffer.Unpooled.EMPTY_BUFFER;
        }
        ByteBuf first = chunks.peek();
        if (first.readableBytes() >= todo) {
            ByteBuf out = first.readRetainedSlice(todo);
            size -= todo;
            if (!first.isReadable()) {
                dropHead();
            }
            return out;
        }
        CompositeByteBuf out = alloc.compositeDirectBuffer(Integer.MAX_VALUE); // never consolidates: no copy
        takeFromHead(todo, (head, n) -> out.addComponent(true, head.readRetainedSlice(n)));
        return out;
    }

    /** Drops {@code n} bytes from the head (acknowledged, or read). */
    public void drop(long n) {
        if (n < 0 || n > size) {
            throw new IllegalArgumentException("drop " + n + " of " + size);
        }
        takeFromHead(n, ByteBuf::skipBytes);
    }

    /** What to do with the next {@code n} bytes at a chunk's reader index; it must move past them. */
    @FunctionalInterface
    private interface Part {
        void take(ByteBuf chunk, int n);
    }

    /** Takes {@code n} bytes from the head, a chunk's worth at a time, dropping each chunk it empties. */
    private void takeFromHead(long n, Part part) {
        size -= n;
        while (n > 0) {
            ByteBuf head = chunks.peek();
            int k = (int) Math.min(n, head.readableBytes());
            part.take(head, k);
            n -= k;
            if (!head.isReadable()) {
                dropHead();
            }
        }
    }

    private void dropHead() {
        ByteBuf head = chunks.poll();
        if (head == writableTail) {
            writableTail = null;
        }
        head.release();
    }

    /** Gives every chunk back; the queue is empty afterwards (and may be used again). */
    public void release() {
        if (chunks != null) {
            for (ByteBuf c : chunks) {
                c.release();
            }
            chunks = null;
        }
        writableTail = null;
        size = 0;
    }

    private void checkRange(long offset, int length) {
        if (offset < 0 || length < 0 || offset + length > size) {
            throw new IndexOutOfBoundsException(offset + "+" + length + " of " + size + " queued bytes");
        }
    }
}
