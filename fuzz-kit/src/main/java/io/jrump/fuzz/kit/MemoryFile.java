package io.jrump.fuzz.kit;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * A host file in memory for image-format harnesses: any byte length (an image's trailing
 * footer stays at the end), sparse in 64 KiB pages, growing on writes past its end as a host
 * file does, up to a bound (past it writes are {@code ENOSPC}). Reads past the end are
 * {@code EIO}; requests complete at once and leave the buffers' positions, as the contract says.
 */
public final class MemoryFile {
    private static final int PAGE = 1 << 16;
    private final String name;
    private final long maxSize;
    private final Map<Long, byte[]> pages = new HashMap<>();
    private long size;

    /** An empty-content file named {@code name} of {@code size} bytes (zeros), growing to at most {@code maxSize}. */
    public MemoryFile(String name, long size, long maxSize) {
        this.name = name;
        this.size = size;
        this.maxSize = maxSize;
    }

    /** A file holding {@code content}, growing to at most {@code maxSize}. */
    public static MemoryFile of(String name, byte[] content, long maxSize) {
        MemoryFile f = new MemoryFile(name, content.length, maxSize);
        f.put(0, content);
        return f;
    }

    /** The file's length in bytes. */
    public long size() {
        return size;
    }

    /** Writes {@code data} at {@code at}, growing the file past its end (no bound applies here). */
    public void put(long at, byte[] data) {
        copy(at, ByteBuffer.wrap(data), true);
        size = Math.max(size, at + data.length);
    }

    /** Copies between the file at {@code at} and {@code buf}'s remaining bytes; holes read as zeros. */
    public void copy(long at, ByteBuffer buf, boolean write) {
        int pos = buf.position();
        int n = buf.remaining();
        for (int done = 0; done < n; ) {
            long p = (at + done) / PAGE;
            int within = (int) ((at + done) % PAGE);
            int k = Math.min(n - done, PAGE - within);
            byte[] page = pages.get(p);
            if (write) {
                if (page == null) {
                    page = new byte[PAGE];
                    pages.put(p, page);
                }
                buf.get(pos + done, page, within, k);
            } else if (page == null) {
                buf.put(pos + done, new byte[k]);
            } else {
                buf.put(pos + done, page, within, k);
            }
            done += k;
        }
    }

    /** The file as a host device, read-only or not; all handles share the contents. */
    public HostBlockDevice handle(boolean readOnly) {
        return new HostBlockDevice() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public long size() {
                return size;
            }

            @Override
            public int sectorSize() {
                return 512;
            }

            @Override
            public boolean isReadOnly() {
                return readOnly;
            }

            @Override
            public boolean isGrowable() {
                return true;
            }

            @Override
            public void read(long offset, ByteBuffer dst, IoCompletion completion) {
                if (offset < 0 || offset > size || dst.remaining() > size - offset) {
                    completion.done(0, Errno.EIO);
                    return;
                }
                copy(offset, dst, false);
                completion.done(dst.remaining(), null);
            }

            @Override
            public void write(long offset, ByteBuffer src, IoCompletion completion) {
                if (readOnly) {
                    completion.done(0, Errno.EROFS);
                } else if (offset < 0 || offset > maxSize || src.remaining() > maxSize - offset) {
                    completion.done(0, Errno.ENOSPC);
                } else {
                    copy(offset, src, true);
                    size = Math.max(size, offset + src.remaining());
                    completion.done(src.remaining(), null);
                }
            }

            @Override
            public void flush(IoCompletion completion) {
                completion.done(0, null);
            }

            @Override
            public void discard(long offset, long length, IoCompletion completion) {
                completion.done(0, null);
            }

            @Override
            public void close() {
            }
        };
    }
}
