package io.jrump.fs.fat;

import static io.jrump.fs.fat.FatTools.NOW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile FAT images: the boot sector, the FAT, directories and long names mutated at random
 * (seeded, thousands of images) and by hand in the ways the issue names — chains that loop or
 * leave the volume, FAT entries past the end, directories that contain themselves, long names out
 * of order. Mounting, walking, reading and writing each either work or fail with a defined errno
 * naming the structure; never an unchecked exception, a hang or unbounded memory.
 */
class FatBadInputTest {
    private static final int DISK = 512 * 1024;
    private static final JvmHost HOST = JvmHost.create("fat-bad-input");
    private static boolean created;

    @AfterAll
    static void closeHost() {
        HOST.close();
    }

    /** The one memory disk the tests use in turn, holding the image (zeros for null). */
    private static HostDisk disk(byte[] image) throws ErrnoException {
        if (!created) {
            HostDisk.create(HOST, "mem:fat-bad-input", DISK).close();
            created = true;
        }
        HostDisk disk = HostDisk.open(HOST, "mem:fat-bad-input", io.jrump.hypercall.BlockDevices.OpenMode.READ_WRITE);
        disk.write(0, ByteBuffer.wrap(image != null ? image : new byte[DISK]));
        return disk;
    }
    private static final Set<Errno> DEFINED = Set.of(Errno.EUCLEAN, Errno.EINVAL, Errno.EIO, Errno.ENOENT, Errno.ENOTDIR,
            Errno.EISDIR, Errno.ENOSPC, Errno.EEXIST, Errno.ENOTEMPTY, Errno.EFBIG, Errno.ENAMETOOLONG, Errno.EPERM,
            Errno.ELOOP, Errno.EROFS);

    /** A small FAT12 volume with nested directories, long names and multi-cluster files, made by us. */
    private static byte[] seedImage() throws Exception {
        HostDisk disk = disk(null);
        FatMkfs.format(disk, FatMkfs.Options.defaults(7).withType(FatType.FAT12).withSectorsPerCluster(1));
        try (FatFs fs = FatFs.mount(disk, FatMountOptions.defaults(), false, () -> NOW, null)) {
            Vfs vfs = new Vfs(() -> NOW);
            vfs.mount("/", fs, false);
            vfs.mkdir("/dir one", 0755);
            vfs.mkdir("/dir one/Sub Directory", 0755);
            for (int i = 0; i < 12; i++) {
                FatTools.writeAll(vfs, "/dir one/" + (i % 2 == 0 ? "file" + i + ".txt" : "A Long Name Number " + i + ".data"),
                        new byte[i * 700]);
            }
            FatTools.writeAll(vfs, "/dir one/Sub Directory/deep.bin", new byte[3000]);
            FatTools.writeAll(vfs, "/top.txt", "top".getBytes());
        }
        byte[] image = new byte[DISK];
        disk.read(0, ByteBuffer.wrap(image));
        return image;
    }

    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.errno() + ": " + e.getMessage());
    }

    /** Mounts the bytes, walks everything, reads every file, then writes a little; all must be total. */
    private static void exercise(byte[] image) throws Exception {
        try (HostDisk disk = disk(image)) {
            exercise(disk);
        }
    }

    private static void exercise(HostDisk disk) throws Exception {
        for (boolean readOnly : new boolean[] {true, false}) {
            FatFs fs;
            try {
                fs = FatFs.mount(disk, FatMountOptions.defaults(), readOnly, () -> NOW, null);
            } catch (ErrnoException e) {
                defined(e);
                return;
            }
            try {
                FatCheck.check(fs);
            } catch (ErrnoException e) {
                defined(e);
            }
            Vfs vfs = new Vfs(() -> NOW);
            vfs.mount("/", fs, readOnly);
            Deque<String> dirs = new ArrayDeque<>();
            dirs.add("/");
            int visited = 0;
            while (!dirs.isEmpty() && visited++ < 300) {
                String d = dirs.poll();
                try {
                    for (DirEntry e : vfs.readdir(d)) {
                        if (e.name().equals(".") || e.name().equals("..")) {
                            continue;
                        }
                        String p = d.endsWith("/") ? d + e.name() : d + "/" + e.name();
                        try {
                            Attributes a = vfs.stat(p);
                            if (a.isDirectory()) {
                                dirs.add(p);
                            } else {
                                int fd = vfs.open(p, OpenFlags.O_RDONLY, 0);
                                try {
                                    vfs.read(fd, ByteBuffer.allocate(8192));
                                } finally {
                                    vfs.close(fd);
                                }
                            }
                        } catch (ErrnoException x) {
                            defined(x);
                        }
                    }
                } catch (ErrnoException x) {
                    defined(x);
                }
            }
            if (!readOnly) {
                for (String[] op : new String[][] {{"write", "/new file.txt"}, {"mkdir", "/new dir"},
                    {"rename", "/top.txt", "/dir one/moved.txt"}, {"unlink", "/dir one/file0.txt"},
                    {"truncate", "/dir one/file2.txt"}, {"write", "/dir one/Sub Directory/more.bin"}}) {
                    try {
                        switch (op[0]) {
                            case "write" -> FatTools.writeAll(vfs, op[1], new byte[5000]);
                            case "mkdir" -> vfs.mkdir(op[1], 0755);
                            case "rename" -> vfs.rename(op[1], op[2]);
                            case "unlink" -> vfs.unlink(op[1]);
                            default -> vfs.truncate(op[1], 10);
                        }
                    } catch (ErrnoException x) {
                        defined(x);
                    }
                }
            }
            try {
                vfs.close();
            } catch (ErrnoException x) {
                defined(x);
            }
        }
    }

    @Test
    void randomlyDamagedImagesAreHandled() throws Exception {
        byte[] seed = seedImage();
        ByteBuffer b = ByteBuffer.wrap(seed).order(ByteOrder.LITTLE_ENDIAN);
        int bps = b.getShort(11) & 0xffff;
        int reserved = b.getShort(14) & 0xffff;
        int fatSectors = b.getShort(22) & 0xffff;
        int rootEntries = b.getShort(17) & 0xffff;
        int metaEnd = (reserved + 2 * fatSectors) * bps + rootEntries * 32 + 16 * bps; // and the first clusters
        Random r = new Random(16);
        for (int round = 0; round < 1500; round++) {
            byte[] image = seed.clone();
            int flips = 1 + r.nextInt(8);
            for (int i = 0; i < flips; i++) {
                int at = round % 5 == 0 ? r.nextInt(64) : r.nextInt(metaEnd); // the BPB often, metadata always
                image[at] = (byte) (r.nextInt(4) == 0 ? 0xff : r.nextInt(256));
            }
            int rr = round;
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> exercise(image), "round " + rr);
        }
    }

    private static ByteBuffer le(byte[] image) {
        return ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Where things are in the seed image. */
    private record Layout(int bps, long fat1, long fat2, long root, long data) {
        static Layout of(byte[] image) {
            ByteBuffer b = le(image);
            int bps = b.getShort(11) & 0xffff;
            long fat1 = (long) (b.getShort(14) & 0xffff) * bps;
            long fat2 = fat1 + (long) (b.getShort(22) & 0xffff) * bps;
            long root = fat2 + (long) (b.getShort(22) & 0xffff) * bps;
            return new Layout(bps, fat1, fat2, root, root + (b.getShort(17) & 0xffff) * 32L);
        }
    }

    private static void setFat12(byte[] image, Layout l, int cluster, int value) {
        for (long base : new long[] {l.fat1, l.fat2}) {
            int at = (int) (base + cluster * 3 / 2);
            int v = (image[at] & 0xff) | (image[at + 1] & 0xff) << 8;
            v = (cluster & 1) == 0 ? (v & 0xf000) | value : (v & 0x000f) | value << 4;
            image[at] = (byte) v;
            image[at + 1] = (byte) (v >>> 8);
        }
    }

    /** The root entry whose short name starts with {@code prefix}: its byte offset. */
    private static int rootEntry(byte[] image, Layout l, String prefix) {
        for (long at = l.root; at < l.data; at += 32) {
            if (new String(image, (int) at, prefix.length(), java.nio.charset.StandardCharsets.ISO_8859_1).equals(prefix)) {
                return (int) at;
            }
        }
        throw new AssertionError(prefix);
    }

    private static ErrnoException readFails(byte[] image, String path) throws Exception {
        HostDisk disk = disk(image);
        FatFs fs = FatFs.mount(disk, FatMountOptions.defaults(), true, () -> NOW, null);
        Vfs vfs = new Vfs(() -> NOW);
        vfs.mount("/", fs, true);
        return assertThrows(ErrnoException.class, () -> FatTools.tree(vfs, path));
    }

    @Test
    void aChainThatLoopsIsNamed() throws Exception {
        byte[] image = seedImage();
        Layout l = Layout.of(image);
        int dir = rootEntry(image, l, "DIRONE"); // "dir one" has a generated short name DIRONE~1
        int c = le(image).getShort(dir + 26) & 0xffff;
        setFat12(image, l, c, c); // the directory's first cluster points to itself
        ErrnoException e = readFails(image, "/");
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("loops"), e.getMessage());
    }

    @Test
    void aChainThatLeavesTheVolumeIsNamed() throws Exception {
        byte[] image = seedImage();
        Layout l = Layout.of(image);
        int dir = rootEntry(image, l, "DIRONE");
        int c = le(image).getShort(dir + 26) & 0xffff;
        setFat12(image, l, c, 0xFF0); // past the last cluster, below the reserved values
        ErrnoException e = readFails(image, "/");
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("outside the volume"), e.getMessage());
    }

    @Test
    void aDirectoryThatContainsItselfIsRefusedNotWalkedForever() throws Exception {
        byte[] image = seedImage();
        Layout l = Layout.of(image);
        int dir = rootEntry(image, l, "DIRONE");
        int c = le(image).getShort(dir + 26) & 0xffff;
        // "Sub Directory" inside "dir one" is made to start at "dir one"'s own cluster.
        long dirData = l.data + (long) (c - 2) * l.bps;
        for (int at = (int) dirData; at < dirData + l.bps; at += 32) {
            if (new String(image, at, 6, java.nio.charset.StandardCharsets.ISO_8859_1).equals("SUBDIR")) {
                image[at + 26] = (byte) c;
                image[at + 27] = (byte) (c >>> 8);
            }
        }
        ErrnoException e = readFails(image, "/");
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("loops"), e.getMessage());
    }

    @Test
    void longNamePartsOutOfOrderShowTheShortName() throws Exception {
        byte[] image = seedImage();
        Layout l = Layout.of(image);
        int dir = rootEntry(image, l, "DIRONE");
        int c = le(image).getShort(dir + 26) & 0xffff;
        long dirData = l.data + (long) (c - 2) * l.bps;
        // Swap the sequence numbers of the first long name's two parts.
        int first = -1;
        for (int at = (int) dirData; at < dirData + l.bps; at += 32) {
            if ((image[at + 11] & 0x3f) == 0x0f && (image[at] & 0x40) != 0 && (image[at] & 0x1f) == 2) {
                first = at;
                break;
            }
        }
        assertTrue(first > 0);
        image[first] = 0x41;
        image[first + 32] = 0x02;
        HostDisk disk = disk(image);
        try (FatFs fs = FatFs.mount(disk, FatMountOptions.defaults(), true, () -> NOW, null)) {
            Vfs vfs = new Vfs(() -> NOW);
            vfs.mount("/", fs, true);
            assertTrue(vfs.readdir("/dir one").stream().anyMatch(e -> e.name().startsWith("ALONGN~")),
                    "the short name stands in for a broken long name");
            assertTrue(!FatCheck.check(fs).isClean());
        }
    }

    @Test
    void bootSectorFieldsAreCheckedAndNamed() throws Exception {
        byte[] seed = seedImage();
        Object[][] cases = {
            {14, new byte[] {0, 0}, "reserved sector count 0"},
            {16, new byte[] {0}, "FAT count 0"},
            {22, new byte[] {0, 0}, "FAT32 with 512 fixed root directory entries"}, // no 16-bit FAT size: FAT32
            {19, new byte[] {(byte) 0xff, (byte) 0xff}, "larger than the device"},
            {22, new byte[] {1, 0}, "fewer than"},
        };
        for (Object[] c : cases) {
            byte[] image = seed.clone();
            byte[] patch = (byte[]) c[1];
            System.arraycopy(patch, 0, image, (int) c[0], patch.length);
            HostDisk disk = disk(image);
            ErrnoException e = assertThrows(ErrnoException.class,
                    () -> FatFs.mount(disk, FatMountOptions.defaults(), true, () -> NOW, null));
            assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains("FAT boot sector") && e.getMessage().contains((String) c[2]), e.getMessage());
        }
    }
}
