package io.jrump.fuzz.kit;

import io.jrump.blk.HostDisk;
import io.jrump.fs.exfat.ExFatMkfs;
import io.jrump.fs.ext.Mkfs;
import io.jrump.fs.fat.FatMkfs;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Small filesystem images made by jrump's own mkfs, byte for byte the same on every run: a fixed
 * UUID (or volume id), creation time {@link #CREATED_EPOCH_SECONDS} and, when populated, the same
 * few files and directories written at that time. Made once per JVM and size, then copied: a
 * harness that starts from an image pays for mkfs once, not per input.
 */
public final class Images {
    /** The filesystems this class formats. */
    public enum Kind {
        /** ext2: no journal, no extents, 1 KiB blocks. */
        EXT2,
        /** ext4 (extents, metadata_csum, 64bit; no journal), 1 KiB blocks. */
        EXT4,
        /** FAT (FAT12 or FAT16, whichever our FatMkfs picks for the size). */
        FAT,
        /** exFAT, 4 KiB clusters; at least {@link Images#MIN_EXFAT_SIZE}. */
        EXFAT
    }

    /** The creation (and file) time of every image: 2026-01-01 00:00:00 UTC, the sim world's wall origin. */
    public static final long CREATED_EPOCH_SECONDS = SimWorld.WALL_ORIGIN_NANOS / 1_000_000_000L;
    /** The files {@link #populated} writes, with their contents; directories: {@code /dir}, {@code /dir/sub}. */
    public static final Map<String, String> FILES = Map.of(
            "/hello.txt", "hello, jrump\n",
            "/dir/a.txt", "a".repeat(3000),
            "/dir/sub/b.bin", "b".repeat(100));

    /** The smallest exFAT image our ExFatMkfs makes: 1 MiB (ext and FAT fit in 128 KiB). */
    public static final int MIN_EXFAT_SIZE = 1 << 20;

    private static final byte[] UUID = {0x6a, 0x72, 0x75, 0x6d, 0x70, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x69, 0x74, 0x00, 0x01};
    private static final long VOLUME_ID = 0x6a72_756dL;
    private static final Map<String, byte[]> CACHE = new ConcurrentHashMap<>();

    private Images() {
    }

    /** A freshly formatted, empty image of {@code size} bytes (a copy: the caller may change it). */
    public static byte[] empty(Kind kind, int size) throws ErrnoException {
        return cached(kind, size, false).clone();
    }

    /**
     * An image of {@code size} bytes with {@link #FILES} and their directories in it (a copy).
     * 128 KiB is enough for ext and FAT; exFAT needs {@link #MIN_EXFAT_SIZE}.
     */
    public static byte[] populated(Kind kind, int size) throws ErrnoException {
        return cached(kind, size, true).clone();
    }

    private static byte[] cached(Kind kind, int size, boolean populate) throws ErrnoException {
        String key = kind + "/" + size + "/" + populate;
        byte[] image = CACHE.get(key);
        if (image == null) {
            image = make(kind, size, populate);
            CACHE.putIfAbsent(key, image);
        }
        return image;
    }

    private static byte[] make(Kind kind, int size, boolean populate) throws ErrnoException {
        SimHost host = new SimWorld(1).newHost("mkfs");
        try (HostDisk disk = HostDisk.create(host, "img", size)) {
            switch (kind) {
                case EXT2, EXT4 -> Mkfs.format(disk, Mkfs.Options.defaults(kind == Kind.EXT2 ? Mkfs.Type.EXT2 : Mkfs.Type.EXT4,
                        UUID, CREATED_EPOCH_SECONDS).withBlockSize(1024).withBytesPerInode(4096).withFeatures(kind == Kind.EXT2 ? "^has_journal"
                        : "^has_journal,^resize_inode").withLazyItableInit(false));
                case FAT -> FatMkfs.format(disk, FatMkfs.Options.defaults(VOLUME_ID).withLabel("JRUMP"));
                case EXFAT -> ExFatMkfs.format(disk, ExFatMkfs.Options.defaults(VOLUME_ID).withClusterBytes(4096)
                        .withLabel("JRUMP"));
            }
            if (populate) {
                write(disk, kind);
            }
        }
        try (HostDisk done = HostDisk.open(host, "img", OpenMode.READ_ONLY)) {
            byte[] out = new byte[size];
            done.read(0, ByteBuffer.wrap(out));
            return out;
        }
    }

    private static void write(HostDisk disk, Kind kind) throws ErrnoException {
        Vfs vfs = new Vfs(() -> SimWorld.WALL_ORIGIN_NANOS);
        String type = switch (kind) {
            case EXT2, EXT4 -> "ext4";
            case FAT -> "vfat";
            case EXFAT -> "exfat";
        };
        vfs.mount("/", type, disk, FileSystemType.Options.of(false, () -> SimWorld.WALL_ORIGIN_NANOS));
        try {
            vfs.mkdir("/dir", 0755);
            vfs.mkdir("/dir/sub", 0755);
            for (String path : FILES.keySet().stream().sorted().toList()) {
                int fd = vfs.open(path, OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644);
                try {
                    vfs.write(fd, ByteBuffer.wrap(FILES.get(path).getBytes(StandardCharsets.UTF_8)));
                } finally {
                    vfs.close(fd);
                }
            }
        } finally {
            vfs.close();
        }
    }
}
