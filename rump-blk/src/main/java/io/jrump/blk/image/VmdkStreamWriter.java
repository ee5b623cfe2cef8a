package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.Deflater;

/**
 * Writes one streamOptimized VMDK in a single pass over a source disk (see
 * {@link VmdkImage#writeStreamOptimized}): everything goes to the file in order, each grain
 * table after the grains it maps, the directory and footer last.
 */
final class VmdkStreamWriter {
    private static final long GRAIN_SECTORS = 128;
    private static final int GRAIN = (int) GRAIN_SECTORS * 512;
    private static final int GTES = 512;
    private static final long OVERHEAD_SECTORS = 128;
    private static final int MARKER_GT = 1;
    private static final int MARKER_GD = 2;
    private static final int MARKER_FOOTER = 3;

    private final ImageFile out;
    private final BlockDevice source;
    private long pos;

    VmdkStreamWriter(ImageFile out, BlockDevice source) {
        this.out = out;
        this.source = source;
    }

    void write(ByteBuffer descriptor, long descriptorSectors) throws ErrnoException {
        VmdkImage.checkStream(out, source);
        long size = source.size();
        long capacity = size / 512;
        long grains = (capacity + GRAIN_SECTORS - 1) / GRAIN_SECTORS;
        int tables = (int) ((grains + GTES - 1) / GTES);
        VmdkHeader h = new VmdkHeader(3, VmdkHeader.FLAG_NEWLINE_TEST | VmdkHeader.FLAG_COMPRESSED
                | VmdkHeader.FLAG_MARKERS, capacity, GRAIN_SECTORS, 1, descriptorSectors, GTES, 0,
                VmdkHeader.GD_AT_END, OVERHEAD_SECTORS, VmdkHeader.DEFLATE);
        out.write(0, h.encode());
        out.write(512, descriptor);
        pos = OVERHEAD_SECTORS * 512;
        int[] gd = new int[tables];
        int[] gt = new int[GTES];
        byte[] grain = new byte[GRAIN];
        byte[] packed = new byte[GRAIN + GRAIN / 8 + 1024];
        Deflater deflater = new Deflater();
        try {
            for (long g = 0; g < grains; g++) {
                int length = (int) Math.min(GRAIN, size - g * GRAIN);
                Arrays.fill(grain, length, GRAIN, (byte) 0);
                source.read(g * GRAIN, ByteBuffer.wrap(grain, 0, length));
                if (!BlockMapImage.isZero(ByteBuffer.wrap(grain))) {
                    deflater.reset();
                    deflater.setInput(grain);
                    deflater.finish();
                    int n = 12;
                    while (!deflater.finished()) {
                        if (n == packed.length) {
                            packed = Arrays.copyOf(packed, packed.length * 2);
                        }
                        n += deflater.deflate(packed, n, packed.length - n);
                    }
                    ByteBuffer b = ByteBuffer.wrap(packed).order(ByteOrder.LITTLE_ENDIAN);
                    b.putLong(0, g * GRAIN_SECTORS).putInt(8, n - 12);
                    gt[(int) (g % GTES)] = sector(pos);
                    put(ByteBuffer.wrap(packed, 0, n));
                }
                if (g % GTES == GTES - 1 || g == grains - 1) {
                    int t = (int) (g / GTES);
                    ByteBuffer table = ByteBuffer.allocate(GTES * 4).order(ByteOrder.LITTLE_ENDIAN);
                    table.asIntBuffer().put(gt);
                    marker(GTES * 4 / 512, MARKER_GT);
                    gd[t] = sector(pos);
                    put(table);
                    Arrays.fill(gt, 0);
                }
            }
        } finally {
            deflater.end();
        }
        ByteBuffer dir = ByteBuffer.allocate(tables * 4).order(ByteOrder.LITTLE_ENDIAN);
        dir.asIntBuffer().put(gd);
        marker((tables * 4L + 511) / 512, MARKER_GD);
        long gdSector = pos / 512;
        put(dir);
        marker(1, MARKER_FOOTER);
        put(h.withGdOffset(gdSector).encode());
        put(ByteBuffer.allocate(512)); // end-of-stream marker
        out.flush();
    }

    /** A metadata marker: the sectors of what follows, size 0, the type; one sector. */
    private void marker(long sectors, int type) throws ErrnoException {
        ByteBuffer m = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        m.putLong(0, sectors).putInt(8, 0).putInt(12, type);
        put(m);
    }

    /** Appends {@code b} padded to whole sectors. */
    private void put(ByteBuffer b) throws ErrnoException {
        int n = b.remaining();
        if ((pos + n) / 512 > 0xffff_ffffL) {
            throw new ErrnoException(Errno.EFBIG, out.name() + ": a streamOptimized VMDK cannot grow past 2 TiB");
        }
        out.write(pos, b);
        int pad = (512 - n % 512) % 512;
        if (pad > 0) {
            out.write(pos + n, ByteBuffer.allocate(pad));
        }
        pos += n + pad;
    }

    private static int sector(long at) {
        return (int) (at / 512);
    }
}
