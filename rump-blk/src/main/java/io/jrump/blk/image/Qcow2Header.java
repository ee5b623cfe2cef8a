package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The qcow2 header (qemu docs/interop/qcow2.txt), versions 2 and 3, with its extensions and
 * backing file name, parsed and checked against the file it came from. Every offset and count is
 * validated before anything is sized by it. Immutable.
 */
record Qcow2Header(int version, long backingFileOffset, int backingFileSize, int clusterBits, long size,
                   int cryptMethod, int l1Size, long l1TableOffset, long refcountTableOffset,
                   int refcountTableClusters, int nbSnapshots, long snapshotsOffset, long incompatible,
                   long compatible, long autoclear, int refcountOrder, int headerLength, int compressionType,
                   String backingFile, String backingFormat, Bitmaps bitmaps, String dataFile) {

    /** The bitmaps header extension: where the bitmap directory lies (valid only with autoclear bit 0). */
    record Bitmaps(int count, long directorySize, long directoryOffset) {
    }

    static final int MAGIC = 0x514649fb; // "QFI\xfb"
    static final int V2_LENGTH = 72;
    static final int V3_LENGTH = 104;
    static final long INCOMPAT_DIRTY = 1;
    static final long INCOMPAT_CORRUPT = 2;
    static final long INCOMPAT_EXTERNAL_DATA = 4;
    static final long INCOMPAT_COMPRESSION = 8;
    static final long INCOMPAT_EXTENDED_L2 = 16;
    static final long KNOWN_INCOMPAT = INCOMPAT_DIRTY | INCOMPAT_CORRUPT;
    static final long AUTOCLEAR_BITMAPS = 1;
    static final long AUTOCLEAR_DATA_FILE_RAW = 2;
    static final int COMPRESSION_DEFLATE = 0;
    static final int COMPRESSION_ZSTD = 1;
    /** qemu's limit on the snapshot table (QCOW_MAX_SNAPSHOTS_SIZE). */
    static final long MAX_SNAPSHOTS_BYTES = 64L << 20;
    static final int MAX_SNAPSHOTS = 65536;
    /** An L1 table larger than this is refused; 32 MiB of L1 maps 2^22 L2 tables. */
    static final long MAX_L1_BYTES = 32L << 20;
    /** The refcount table grows up to this size, qemu's limit (QCOW_MAX_REFTABLE_SIZE). */
    static final long MAX_REFTABLE_BYTES = 8L << 20;
    static final int EXT_END = 0;
    static final int EXT_BACKING_FORMAT = 0xe2792aca;
    static final int EXT_BITMAPS = 0x23852875;
    static final int EXT_DATA_FILE = 0x44415441;
    static final int MAX_EXTENSIONS = 64;

    long clusterSize() {
        return 1L << clusterBits;
    }

    /** L2 entries per table: 8 bytes each, or 16 with extended L2 entries. */
    int l2Entries() {
        return 1 << (clusterBits - (extendedL2() ? 4 : 3));
    }

    /** Whether L2 entries carry a subcluster bitmap (32 subclusters a cluster). */
    boolean extendedL2() {
        return (incompatible & INCOMPAT_EXTENDED_L2) != 0;
    }

    int refcountBits() {
        return 1 << refcountOrder;
    }

    /**
     * Entry {@code i} of a refcount block of {@code bits}-bit entries (1 to 64 bits): whole bytes
     * big-endian; narrower entries packed from the least significant bit of each byte up, as qemu
     * stores them (entry 0 of a 1-bit block is bit 0 of byte 0).
     */
    static long refcountAt(ByteBuffer block, long i, int bits) {
        if (bits < 8) {
            long bit = i * bits;
            return ((block.get((int) (bit / 8)) & 0xff) >>> (int) (bit % 8)) & ((1 << bits) - 1);
        }
        int at = (int) (i * (bits / 8));
        long raw = 0;
        for (int k = 0; k < bits / 8; k++) {
            raw = (raw << 8) | (block.get(at + k) & 0xff);
        }
        return raw;
    }

    /** Stores entry {@code i} of a refcount block, the inverse of {@link #refcountAt}. */
    static void putRefcount(ByteBuffer block, long i, int bits, long value) {
        if (bits < 8) {
            long bit = i * bits;
            int at = (int) (bit / 8);
            int mask = ((1 << bits) - 1) << (int) (bit % 8);
            block.put(at, (byte) ((block.get(at) & ~mask) | (((int) value << (int) (bit % 8)) & mask)));
            return;
        }
        int at = (int) (i * (bits / 8));
        for (int k = bits / 8 - 1; k >= 0; k--) {
            block.put(at + k, (byte) value);
            value >>>= 8;
        }
    }

    /** The offset in a refcount block of the byte that holds (the start of) entry {@code i}. */
    static int refcountByte(long i, int bits) {
        return (int) (i * bits / 8);
    }

    static Qcow2Header read(ImageFile file) throws ErrnoException {
        String where = file.name() + ": qcow2 header";
        if (file.size() < V2_LENGTH) {
            throw new ErrnoException(Errno.EIO, where + ": file of " + file.size() + " bytes is shorter than a header");
        }
        ByteBuffer h = ByteBuffer.allocate((int) Math.min(file.size(), 4096));
        file.read(0, h);
        if (h.getInt(0) != MAGIC) {
            throw new ErrnoException(Errno.EINVAL, where + ": no QFI\\xfb magic");
        }
        int version = h.getInt(4);
        if (version != 2 && version != 3) {
            throw new ErrnoException(Errno.EOPNOTSUPP, where + ": version " + version + " (2 and 3 are supported)");
        }
        int clusterBits = h.getInt(20);
        if (clusterBits < 9 || clusterBits > 21) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": cluster_bits " + clusterBits + " outside 9..21");
        }
        long cluster = 1L << clusterBits;
        long incompat = 0;
        long compat = 0;
        long autoclear = 0;
        int refcountOrder = 4;
        int headerLength = V2_LENGTH;
        int compressionType = 0;
        if (version == 3) {
            if (h.capacity() < V3_LENGTH) {
                throw new ErrnoException(Errno.EIO, where + ": truncated version 3 header");
            }
            incompat = h.getLong(72);
            compat = h.getLong(80);
            autoclear = h.getLong(88);
            refcountOrder = h.getInt(96);
            headerLength = h.getInt(100);
            if (headerLength < V3_LENGTH || headerLength % 8 != 0 || headerLength > cluster || headerLength > h.capacity()) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": header_length " + Integer.toUnsignedString(headerLength));
            }
            if (headerLength > 104) {
                compressionType = h.get(104) & 0xff;
            }
            if (refcountOrder < 0 || refcountOrder > 6) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": refcount_order " + refcountOrder + " outside 0..6");
            }
            long unknown = incompat & ~(KNOWN_INCOMPAT | INCOMPAT_EXTERNAL_DATA | INCOMPAT_COMPRESSION | INCOMPAT_EXTENDED_L2);
            if (unknown != 0) {
                throw new ErrnoException(Errno.EOPNOTSUPP, where + ": unknown incompatible feature bits 0x" + Long.toHexString(unknown));
            }
            if ((incompat & INCOMPAT_EXTENDED_L2) != 0 && clusterBits < 14) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": extended L2 entries with clusters of "
                        + (1 << clusterBits) + " bytes (at least 16384)");
            }
            if ((autoclear & AUTOCLEAR_DATA_FILE_RAW) != 0 && (incompat & INCOMPAT_EXTERNAL_DATA) == 0) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": data_file_raw without an external data file");
            }
            if (compressionType != COMPRESSION_DEFLATE && compressionType != COMPRESSION_ZSTD) {
                throw new ErrnoException(Errno.EOPNOTSUPP, where + ": unsupported feature: compression type "
                        + compressionType + " (deflate and zstd are read)");
            }
            // qemu refuses both disagreements: the bit says "a reader must know compression_type".
            if ((compressionType != COMPRESSION_DEFLATE) != ((incompat & INCOMPAT_COMPRESSION) != 0)) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": compression_type " + compressionType
                        + " disagrees with the compression incompatible-feature bit ("
                        + ((incompat & INCOMPAT_COMPRESSION) != 0 ? "set" : "clear") + ")");
            }
        }
        long size = h.getLong(24);
        if (size < 0 || size > (1L << 60)) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": virtual size " + Long.toUnsignedString(size));
        }
        int crypt = h.getInt(32);
        if (crypt != 0) {
            throw new ErrnoException(Errno.EOPNOTSUPP, where + ": unsupported feature: encryption method " + crypt);
        }
        int l1Size = h.getInt(36);
        long l1Offset = h.getLong(40);
        long perL2 = cluster * (cluster / ((incompat & INCOMPAT_EXTENDED_L2) != 0 ? 16 : 8));
        long needL1 = (size + perL2 - 1) / perL2;
        if (l1Size < 0 || (long) l1Size * 8 > MAX_L1_BYTES || l1Size < needL1) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": l1_size " + Integer.toUnsignedString(l1Size)
                    + " for a virtual size of " + size + " bytes (needs " + needL1 + ")");
        }
        if (l1Size > 0 || l1Offset % cluster != 0) { // an image of size 0 has no L1 table (offset 0)
            checkTable(file, where + ": L1 table", l1Offset, (long) l1Size * 8, cluster);
        }
        long rtOffset = h.getLong(48);
        int rtClusters = h.getInt(56);
        if (rtClusters <= 0 || rtClusters > Math.max(1, MAX_REFTABLE_BYTES >> clusterBits)) { // qemu's limit
            throw new ErrnoException(Errno.EUCLEAN, where + ": refcount_table_clusters " + Integer.toUnsignedString(rtClusters));
        }
        checkTable(file, where + ": refcount table", rtOffset, rtClusters * cluster, cluster);
        int nbSnapshots = h.getInt(60);
        long snapshotsOffset = h.getLong(64);
        if (nbSnapshots < 0 || nbSnapshots > MAX_SNAPSHOTS) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": nb_snapshots " + Integer.toUnsignedString(nbSnapshots));
        }
        // Past the end of the file is left to the table's reader: qemu-img check reports it as a corruption.
        if (nbSnapshots > 0 && (snapshotsOffset % cluster != 0 || snapshotsOffset < cluster
                || snapshotsOffset > (1L << 56))) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": snapshot table at 0x" + Long.toHexString(snapshotsOffset)
                    + " is misaligned, in the header or beyond 2^56");
        }
        long bfOffset = h.getLong(8);
        int bfSize = h.getInt(16);
        String backing = null;
        if (bfOffset != 0) {
            if (bfSize <= 0 || bfSize > 1023 || bfOffset < headerLength || bfOffset + bfSize > cluster
                    || bfOffset + bfSize > h.capacity()) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": backing file name of " + Integer.toUnsignedString(bfSize)
                        + " bytes at 0x" + Long.toHexString(bfOffset));
            }
            byte[] name = new byte[bfSize];
            h.get((int) bfOffset, name);
            backing = new String(name, StandardCharsets.UTF_8);
        }
        Extensions ext = version == 3 ? readExtensions(h, headerLength, bfOffset, where) : new Extensions();
        Bitmaps bitmaps = (autoclear & AUTOCLEAR_BITMAPS) != 0 ? ext.bitmaps : null;
        if (bitmaps != null) {
            checkBitmapsExtension(file, bitmaps, cluster, where);
        }
        return new Qcow2Header(version, bfOffset, bfSize, clusterBits, size, crypt, l1Size, l1Offset, rtOffset,
                rtClusters, nbSnapshots, snapshotsOffset, incompat, compat, autoclear, refcountOrder, headerLength,
                compressionType, backing, ext.backingFormat, bitmaps, ext.dataFile);
    }

    /** qemu's limits on the bitmap directory (QCOW2_MAX_BITMAPS, QCOW2_MAX_BITMAP_DIRECTORY_SIZE). */
    static final int MAX_BITMAPS = 65535;
    static final long MAX_BITMAP_DIRECTORY_BYTES = 1024L * MAX_BITMAPS;

    private static void checkBitmapsExtension(ImageFile file, Bitmaps b, long cluster, String where) throws ErrnoException {
        if (b.count() <= 0 || b.count() > MAX_BITMAPS || b.directorySize() <= 0
                || b.directorySize() > MAX_BITMAP_DIRECTORY_BYTES || b.directoryOffset() % cluster != 0
                || b.directoryOffset() < cluster || b.directoryOffset() > file.size()
                || b.directorySize() > file.size() - b.directoryOffset()) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": bitmaps extension: " + Integer.toUnsignedString(b.count())
                    + " bitmaps, directory of " + b.directorySize() + " bytes at 0x" + Long.toHexString(b.directoryOffset())
                    + " (misaligned, empty, too large or past the end of the file)");
        }
    }

    /** What the header extensions say. */
    private static final class Extensions {
        String backingFormat;
        Bitmaps bitmaps;
        String dataFile;
    }

    /** Walks the header extensions (bounded in count and in the header buffer). */
    private static Extensions readExtensions(ByteBuffer h, int headerLength, long bfOffset, String where) throws ErrnoException {
        int at = headerLength;
        long end = bfOffset != 0 ? bfOffset : h.capacity();
        Extensions ext = new Extensions();
        for (int n = 0; n < MAX_EXTENSIONS; n++) {
            if (at + 8 > end) {
                return ext; // no end marker before the backing name: qemu tolerates it too
            }
            int type = h.getInt(at);
            int length = h.getInt(at + 4);
            if (type == EXT_END) {
                return ext;
            }
            if (length < 0 || at + 8L + length > end) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": extension 0x" + Integer.toHexString(type) + " at offset "
                        + at + " of " + Integer.toUnsignedString(length) + " bytes overruns the header");
            }
            if (type == EXT_BACKING_FORMAT) {
                ext.backingFormat = string(h, at + 8, length);
            } else if (type == EXT_DATA_FILE) {
                ext.dataFile = string(h, at + 8, length);
            } else if (type == EXT_BITMAPS) {
                if (length != 24) {
                    throw new ErrnoException(Errno.EUCLEAN, where + ": bitmaps extension of " + length + " bytes, not 24");
                }
                ext.bitmaps = new Bitmaps(h.getInt(at + 8), h.getLong(at + 16), h.getLong(at + 24));
            }
            at += 8 + ((length + 7) & ~7);
        }
        throw new ErrnoException(Errno.EUCLEAN, where + ": more than " + MAX_EXTENSIONS + " header extensions");
    }

    private static String string(ByteBuffer h, int at, int length) {
        byte[] f = new byte[length];
        h.get(at, f);
        return new String(f, StandardCharsets.UTF_8);
    }

    private static void checkTable(ImageFile file, String what, long offset, long bytes, long cluster)
            throws ErrnoException {
        if (offset <= 0 || offset % cluster != 0 || bytes < 0 || offset > file.size() || bytes > file.size() - offset) {
            throw new ErrnoException(Errno.EUCLEAN, what + " of " + bytes + " bytes at 0x" + Long.toHexString(offset)
                    + " is misaligned or past the end of the file (" + file.size() + " bytes)");
        }
    }
}
