package io.jrump.fuzz.kit.program;

import io.jrump.blk.HostDisk;
import io.jrump.fs.ext.Mkfs;
import io.jrump.fuzz.kit.Images;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The fresh ext4 every run starts from (journal on, 1 KiB blocks, fixed UUID and time): made once
 * per JVM and disk size, kept as its non-zero 4 KiB chunks, written onto each run's blank disk.
 */
final class FreshExt4 {
    private static final int CHUNK = 4096;
    private static final Map<Integer, List<Chunk>> BY_MIB = new ConcurrentHashMap<>();

    private record Chunk(long offset, byte[] bytes) {
    }

    private FreshExt4() {
    }

    /** Writes the fresh filesystem of {@code mib} MiB onto {@code d} (all zeroes) and flushes it. */
    static void writeTo(HostDisk d, int mib) throws ErrnoException {
        for (Chunk c : chunks(mib)) {
            d.write(c.offset(), ByteBuffer.wrap(c.bytes()));
        }
        d.flush();
    }

    private static List<Chunk> chunks(int mib) throws ErrnoException {
        List<Chunk> chunks = BY_MIB.get(mib);
        if (chunks != null) {
            return chunks;
        }
        SimHost h = new SimWorld(0).newHost("mkfs");
        long size = (long) mib << 20;
        byte[] all = new byte[(int) size];
        try (HostDisk d = HostDisk.create(h, "d0", size)) {
            byte[] uuid = "jrump-seq-fuzz!!".getBytes(StandardCharsets.US_ASCII);
            Mkfs.format(d, Mkfs.Options.defaults(Mkfs.Type.EXT4, uuid, Images.CREATED_EPOCH_SECONDS).withBlockSize(1024)
                    .withLazyItableInit(false));
            d.flush();
            d.read(0, ByteBuffer.wrap(all));
        }
        chunks = new ArrayList<>();
        byte[] zero = new byte[CHUNK];
        for (int off = 0; off < all.length; off += CHUNK) {
            byte[] c = Arrays.copyOfRange(all, off, off + CHUNK);
            if (!Arrays.equals(c, zero)) {
                chunks.add(new Chunk(off, c));
            }
        }
        chunks = List.copyOf(chunks);
        BY_MIB.putIfAbsent(mib, chunks);
        return chunks;
    }
}
