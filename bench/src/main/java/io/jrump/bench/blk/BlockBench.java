package io.jrump.bench.blk;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.blk.cache.BufferCache;
import io.jrump.blk.cache.CacheOptions;
import io.jrump.blk.cache.CacheStats;
import io.jrump.blk.image.ImageFile;
import io.jrump.blk.image.Images;
import io.jrump.blk.image.Qcow2Image;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * One block-layer measurement per process, printed as one line {@code key=value ...} for the
 * comparison script:
 * <ul>
 *   <li>{@code seqwrite FILE BYTES BS} — create FILE, write BYTES through the buffer cache in BS
 *       requests, flush (fdatasync);</li>
 *   <li>{@code seqread FILE BS} — read FILE through the buffer cache in BS requests;</li>
 *   <li>{@code imagewrite FORMAT FILE BYTES BS} — create an image of FORMAT (any {@code Images.create}
 *       takes) and write BYTES of 0xab into it sequentially in BS requests, then flush, as
 *       {@code qemu-io -c 'write -P 0xab 0 SIZE'} does;</li>
 *   <li>{@code imageread FILE BS} — open an image by its content and read all of it in BS requests;</li>
 *   <li>{@code imageconvert SRC FORMAT DST} — what {@code rump image convert} does, in process: a new
 *       image of FORMAT, the source copied in 1 MiB steps, all-zero steps left unwritten;</li>
 *   <li>{@code randread FILE QD COUNT cached|uncached} — COUNT random 4 KiB reads at queue depth QD,
 *       straight to the host (uncached; any QD) or through the cache (QD 1).</li>
 * </ul>
 * Each line reports the seconds, the rate, the cache's peak memory and the JVM's peak heap.
 */
public final class BlockBench {
    private BlockBench() {
    }

    public static void main(String[] args) throws Exception {
        io.jrump.bench.Memory.watch(); // peak heap over the whole run
        if (args.length < 2) {
            System.err.println("usage: BlockBench seqwrite FILE BYTES BS | seqread FILE BS | randread FILE QD COUNT cached|uncached");
            System.exit(2);
        }
        try (JvmHost host = JvmHost.create("bench")) {
            switch (args[0]) {
                case "seqwrite" -> seqWrite(host, Path.of(args[1]), Long.parseLong(args[2]), Integer.parseInt(args[3]));
                case "seqread" -> seqRead(host, Path.of(args[1]), Integer.parseInt(args[2]));
                case "qcow2write" -> qcow2Write(host, Path.of(args[1]), Long.parseLong(args[2]), Integer.parseInt(args[3]));
                case "imagewrite" -> imageWrite(host, args[1], Path.of(args[2]), Long.parseLong(args[3]), Integer.parseInt(args[4]));
                case "imageread" -> imageRead(host, Path.of(args[1]), Integer.parseInt(args[2]));
                case "imageconvert" -> imageConvert(host, Path.of(args[1]), args[2], Path.of(args[3]));
                case "mountls" -> mountList(host, Path.of(args[1]), Integer.parseInt(args[2]));
                case "randread" -> randRead(host, Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                        args[4].equals("cached"));
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            }
        }
    }

    private static void seqWrite(JvmHost host, Path file, long bytes, int bs) throws ErrnoException, java.io.IOException {
        Files.deleteIfExists(file);
        long t0 = System.nanoTime();
        HostDisk disk = HostDisk.create(host, file.toString(), bytes);
        BufferCache cache = new BufferCache(disk, CacheOptions.defaults(), host.clock());
        // Direct buffers, as a program streaming to disk would use: the JDK copies heap buffers once more.
        ByteBuffer buf = ByteBuffer.allocateDirect(bs);
        byte[] pattern = new byte[bs];
        new SplittableRandom(1).nextBytes(pattern);
        buf.put(0, pattern);
        for (long off = 0; off < bytes; off += bs) {
            cache.write(off, buf);
        }
        cache.flush();
        double s = (System.nanoTime() - t0) / 1e9;
        report("seqwrite", s, bytes, cache.cacheStats());
        cache.close();
        disk.close();
    }

    /** Creates a qcow2 image and writes it sequentially, as {@code qemu-io -c 'write 0 SIZE'} does. */
    private static void qcow2Write(JvmHost host, Path file, long bytes, int bs) throws ErrnoException, java.io.IOException {
        Files.deleteIfExists(file);
        long t0 = System.nanoTime();
        try (ImageFile f = new ImageFile(host.blockDevices().create(file.toString(), 0), host.scheduler())) {
            Qcow2Image.create(f, bytes, null, null);
        }
        try (BlockDevice img = Images.open(host, file.toString(), false)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(bs);
            for (int i = 0; i < bs; i++) {
                buf.put(i, (byte) 0xab);
            }
            for (long off = 0; off < bytes; off += bs) {
                img.write(off, buf);
            }
            img.flush();
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("mode=qcow2write bytes=%d seconds=%.3f mib_per_s=%.1f heap_peak_mib=%.1f%n", bytes, s,
                bytes / 1048576.0 / s, peakHeapMib());
    }

    private static void imageWrite(JvmHost host, String format, Path file, long bytes, int bs) throws Exception {
        Files.deleteIfExists(file);
        long t0 = System.nanoTime();
        Images.create(host, file.toString(), format, bytes, java.util.Map.of());
        try (BlockDevice img = Images.open(host, file.toString(), false)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(bs);
            for (int i = 0; i < bs; i++) {
                buf.put(i, (byte) 0xab);
            }
            for (long off = 0; off < bytes; off += bs) {
                img.write(off, buf.limit((int) Math.min(bs, bytes - off)));
            }
            img.flush();
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("mode=imagewrite format=%s bytes=%d seconds=%.3f mib_per_s=%.1f heap_peak_mib=%.1f%n", format, bytes,
                s, bytes / 1048576.0 / s, peakHeapMib());
    }

    private static void imageRead(JvmHost host, Path file, int bs) throws Exception {
        long t0 = System.nanoTime();
        long sum = 0;
        long bytes;
        try (BlockDevice img = Images.open(host, file.toString(), true)) {
            bytes = img.size();
            ByteBuffer buf = ByteBuffer.allocateDirect(bs);
            for (long off = 0; off < bytes; off += bs) {
                img.read(off, buf.clear().limit((int) Math.min(bs, bytes - off)));
                sum += buf.get(0); // the data is used
            }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("mode=imageread bytes=%d seconds=%.3f mib_per_s=%.1f heap_peak_mib=%.1f first_bytes_sum=%d%n", bytes, s,
                bytes / 1048576.0 / s, peakHeapMib(), sum);
    }

    private static void imageConvert(JvmHost host, Path src, String format, Path dst) throws Exception {
        Files.deleteIfExists(dst);
        long t0 = System.nanoTime();
        long bytes;
        try (BlockDevice in = Images.open(host, src.toString(), true)) {
            bytes = in.size();
            Images.convert(host, in, dst.toString(), format, java.util.Map.of(), done -> { });
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("mode=imageconvert format=%s bytes=%d seconds=%.3f mib_per_s=%.1f heap_peak_mib=%.1f%n", format,
                bytes, s, bytes / 1048576.0 / s, peakHeapMib());
    }

    /**
     * Opens the ext filesystem in an image and lists its root, {@code rounds} times, each on a new
     * host and device (nothing cached between rounds), reporting the first and the median time.
     */
    private static void mountList(JvmHost unused, Path image, int rounds) throws ErrnoException {
        long[] ms = new long[rounds];
        int entries = 0;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            try (JvmHost h = JvmHost.create("mount"); BlockDevice d = Images.open(h, image.toString(), true)) {
                entries = new io.jrump.fs.ext.ExtVfs(io.jrump.fs.ext.ExtFs.open(d)).readdir(io.jrump.fs.ext.ExtFs.ROOT_INODE)
                        .size();
            }
            ms[r] = (System.nanoTime() - t0) / 1000;
        }
        long first = ms[0];
        java.util.Arrays.sort(ms);
        System.out.printf("mode=mountls entries=%d first_us=%d median_us=%d heap_peak_mib=%.1f%n", entries, first,
                ms[rounds / 2], peakHeapMib());
    }

    private static void seqRead(JvmHost host, Path file, int bs) throws ErrnoException {
        long t0 = System.nanoTime();
        HostDisk disk = HostDisk.open(host, file.toString(), OpenMode.READ_ONLY);
        BufferCache cache = new BufferCache(disk, CacheOptions.defaults(), host.clock());
        ByteBuffer buf = ByteBuffer.allocateDirect(bs);
        long sum = 0;
        for (long off = 0; off < disk.size(); off += bs) {
            cache.read(off, buf);
            sum += buf.get(0);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        report("seqread", s, disk.size(), cache.cacheStats());
        if (sum == 42) {
            System.out.print("");
        }
        disk.close();
    }

    private static void randRead(JvmHost host, Path file, int qd, int count, boolean cached) throws ErrnoException {
        HostDisk disk = HostDisk.open(host, file.toString(), OpenMode.READ_ONLY);
        long blocks = disk.size() / 4096;
        SplittableRandom rnd = new SplittableRandom(7);
        long t0 = System.nanoTime();
        CacheStats cs = null;
        if (cached) {
            if (qd != 1) {
                throw new IllegalArgumentException("the cache serializes requests: cached runs use queue depth 1");
            }
            BlockDevice cache = new BufferCache(disk, CacheOptions.defaults().withReadAhead(0), host.clock());
            ByteBuffer b = ByteBuffer.allocate(4096);
            for (int i = 0; i < count; i++) {
                cache.read(4096 * rnd.nextLong(blocks), b);
            }
            cs = ((BufferCache) cache).cacheStats();
        } else {
            List<CompletableFuture<Void>> inFlight = new ArrayList<>();
            List<ByteBuffer> bufs = new ArrayList<>();
            for (int i = 0; i < qd; i++) {
                bufs.add(ByteBuffer.allocateDirect(4096));
                inFlight.add(CompletableFuture.completedFuture(null));
            }
            for (int i = 0; i < count; i++) {
                int slot = i % qd;
                host.scheduler().await(inFlight.get(slot));
                inFlight.set(slot, disk.readAsync(4096 * rnd.nextLong(blocks), bufs.get(slot)));
            }
            for (CompletableFuture<Void> f : inFlight) {
                host.scheduler().await(f);
            }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("mode=randread qd=%d cached=%s ops=%d seconds=%.3f iops=%.0f cache_peak_mib=%.1f heap_peak_mib=%.1f%n",
                qd, cached, count, s, count / s, cs == null ? 0.0 : cs.peakBytesCached() / 1048576.0, peakHeapMib());
        disk.close();
    }

    private static void report(String mode, double seconds, long bytes, CacheStats cs) {
        System.out.printf("mode=%s bytes=%d seconds=%.3f mib_per_s=%.1f cache_peak_mib=%.1f heap_peak_mib=%.1f%n",
                mode, bytes, seconds, bytes / 1048576.0 / seconds, cs.peakBytesCached() / 1048576.0, peakHeapMib());
    }

    private static double peakHeapMib() {
        return io.jrump.bench.Memory.peakHeapMib();
    }
}
