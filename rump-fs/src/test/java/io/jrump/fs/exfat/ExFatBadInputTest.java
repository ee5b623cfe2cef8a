package io.jrump.fs.exfat;

import static io.jrump.fs.exfat.ExFatTools.NOW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.fs.fat.FatTools;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
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
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile exFAT images: corruptions made by hand (each refused with EUCLEAN naming the
 * structure) and seeded random mutations of the metadata; mounting, walking, reading and
 * writing either work or fail with a defined errno, never an unchecked exception or a hang.
 */
class ExFatBadInputTest {
    private static final int DISK = 1 << 20;
    private static final JvmHost HOST = JvmHost.create("exfat-bad-input");
    private static boolean created;
    private static byte[] seed;
    private static final Set<Errno> DEFINED = Set.of(Errno.EUCLEAN, Errno.EINVAL, Errno.EIO, Errno.ENOENT,
            Errno.ENOTDIR, Errno.EISDIR, Errno.ENOSPC, Errno.EEXIST, Errno.ENOTEMPTY, Errno.EFBIG, Errno.ENAMETOOLONG,
            Errno.EPERM, Errno.ELOOP, Errno.EROFS, Errno.EOPNOTSUPP);

    @AfterAll
    static void closeHost() {
        HOST.close();
    }

    private static HostDisk disk(byte[] image) throws ErrnoException {
        if (!created) {
            HostDisk.create(HOST, "mem:exfat-bad-input", DISK).close();
            created = true;
        }
        HostDisk disk = HostDisk.open(HOST, "mem:exfat-bad-input", OpenMode.READ_WRITE);
        disk.write(0, ByteBuffer.wrap(image != null ? image : new byte[DISK]));
        return disk;
    }

    /** 1 MiB, 512-byte clusters: nested directories, a fragmented file, a file grown by truncate. */
    static synchronized byte[] seedImage() throws Exception {
        if (seed != null) {
            return seed.clone();
        }
        HostDisk disk = disk(null);
        ExFatMkfs.format(disk, ExFatMkfs.Options.defaults(7).withClusterBytes(512).withLabel("SEED"));
        try (ExFatFs fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), false, () -> NOW, null)) {
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
            FatTools.writeAll(vfs, "/frag.bin", new byte[1000]);
            FatTools.writeAll(vfs, "/blocker.bin", new byte[600]);
            int fd = vfs.open("/frag.bin", OpenFlags.O_WRONLY | OpenFlags.O_APPEND, 0);
            vfs.write(fd, ByteBuffer.wrap(new byte[2000]));
            vfs.close(fd);
            vfs.truncate("/top.txt", 5000);
        }
        seed = new byte[DISK];
        disk.read(0, ByteBuffer.wrap(seed));
        disk.close();
        return seed.clone();
    }

    private static ByteBuffer le(byte[] image) {
        return ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The byte offset of the File entry of the set named {@code name}. */
    private static int fileEntry(byte[] image, String name) {
        ByteBuffer b = le(image);
        for (int at = 0; at + 96 <= image.length; at += 32) {
            if ((image[at] & 0xff) == 0x85 && (image[at + 32] & 0xff) == 0xC0 && (image[at + 35] & 0xff) == name.length()) {
                StringBuilder s = new StringBuilder();
                for (int i = 0; i < name.length(); i++) {
                    s.append(b.getChar(at + 64 + 2 + 2 * (i % 15) + 32 * (i / 15)));
                }
                if (s.toString().equals(name)) {
                    return at;
                }
            }
        }
        throw new AssertionError(name);
    }

    private static void reseal(byte[] image, int at) {
        int count = (image[at + 1] & 0xff) + 1;
        byte[] set = java.util.Arrays.copyOfRange(image, at, at + count * 32);
        le(image).putShort(at + 2, (short) ExFatDir.setChecksum(set));
    }

    private static ErrnoException mountFails(byte[] image) throws Exception {
        HostDisk disk = disk(image);
        try {
            return assertThrows(ErrnoException.class,
                    () -> ExFatFs.mount(disk, ExFatMountOptions.defaults(), true, () -> NOW, null).close());
        } finally {
            disk.close();
        }
    }

    private static ErrnoException walkFails(byte[] image) throws Exception {
        HostDisk disk = disk(image);
        try (ExFatFs fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), true, () -> NOW, null)) {
            Vfs vfs = new Vfs(() -> NOW);
            vfs.mount("/", fs, true);
            return assertThrows(ErrnoException.class, () -> FatTools.tree(vfs, "/"));
        } finally {
            disk.close();
        }
    }

    private static void named(ErrnoException e, String... words) {
        assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), "'" + w + "' in: " + e.getMessage());
        }
    }

    @Test
    void theSeedImageIsGood() throws Exception {
        byte[] image = seedImage();
        HostDisk disk = disk(image);
        try (ExFatFs fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), true, () -> NOW, null)) {
            Vfs vfs = new Vfs(() -> NOW);
            vfs.mount("/", fs, true);
            assertEquals(18, FatTools.tree(vfs, "/").size());
            assertEquals("SEED", fs.label());
        }
    }

    @Test
    void aBadBootChecksumIsNamed() throws Exception {
        byte[] image = seedImage();
        image[300] ^= 1; // boot code: covered by the checksum, checked by nothing else
        named(mountFails(image), "boot checksum", "sector 11");
    }

    @Test
    void aBadBootFieldIsNamedAndNotExFatIsEinval() throws Exception {
        byte[] image = seedImage();
        image[108] = 13;
        named(mountFails(image), "BytesPerSectorShift", "offset 108");
        byte[] notExFat = seedImage();
        notExFat[3] = 'N';
        assertEquals(Errno.EINVAL, mountFails(notExFat).errno());
    }

    @Test
    void aWrongSetChecksumIsNamed() throws Exception {
        byte[] image = seedImage();
        image[fileEntry(image, "file2.txt") + 8] ^= 4; // a timestamp, checksum not redone
        named(walkFails(image), "SetChecksum", "/dir one");
    }

    @Test
    void aWrongNameHashIsNamed() throws Exception {
        byte[] image = seedImage();
        int at = fileEntry(image, "file2.txt");
        image[at + 32 + 4] ^= 1;
        reseal(image, at);
        named(walkFails(image), "NameHash", "file2.txt");
    }

    @Test
    void validDataLengthPastDataLengthIsNamed() throws Exception {
        byte[] image = seedImage();
        int at = fileEntry(image, "file2.txt");
        le(image).putLong(at + 32 + 8, 6000);
        reseal(image, at);
        named(walkFails(image), "ValidDataLength 6000", "file2.txt");
    }

    @Test
    void anUnknownCriticalEntryIsRefusedByName() throws Exception {
        byte[] image = seedImage();
        image[fileEntry(image, "file2.txt")] = (byte) 0x86; // critical, primary, in use: no such type
        ErrnoException e = walkFails(image);
        assertEquals(Errno.EOPNOTSUPP, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("0x86") && e.getMessage().contains("/dir one"), e.getMessage());
    }

    @Test
    void anUnknownBenignSecondaryIsSkipped() throws Exception {
        byte[] image = seedImage();
        // blocker.bin's set: File, Stream, one File Name; the entry after it becomes a vendor extension (0xE0).
        int at = fileEntry(image, "blocker.bin");
        assertEquals(0, image[at + 96] & 0x80, "the entry after blocker.bin's set is unused");
        image[at + 96] = (byte) 0xE0;
        image[at + 1] = 3;
        reseal(image, at);
        HostDisk disk = disk(image);
        try (ExFatFs fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), true, () -> NOW, null)) {
            Vfs vfs = new Vfs(() -> NOW);
            vfs.mount("/", fs, true);
            assertEquals(600, vfs.stat("/blocker.bin").size());
            assertEquals(18, FatTools.tree(vfs, "/").size());
        }
    }

    @Test
    void aDataLengthPastTheHeapIsNamed() throws Exception {
        byte[] image = seedImage();
        int at = fileEntry(image, "file2.txt");
        le(image).putLong(at + 32 + 24, Long.MAX_VALUE); // rounding it up to clusters would overflow
        reseal(image, at);
        named(walkFails(image), "DataLength 9223372036854775807 is more than the cluster heap holds", "file2.txt");
    }

    @Test
    void aBitmapPastTheVolumeIsNamed() throws Exception {
        byte[] image = seedImage();
        for (int at = 0; at < image.length; at += 32) {
            if ((image[at] & 0xff) == 0x81 && le(image).getLong(at + 24) > 0) {
                le(image).putInt(at + 20, 100_000);
                break;
            }
        }
        named(mountFails(image), "allocation bitmap");
    }

    @Test
    void aChainThatLoopsIsNamed() throws Exception {
        byte[] image = seedImage();
        int at = fileEntry(image, "frag.bin");
        assertEquals(0, image[at + 33] & 2, "frag.bin is fragmented: a FAT chain");
        long first = le(image).getInt(at + 32 + 20) & 0xffffffffL;
        long fatAt = (le(image).getInt(80) & 0xffffffffL) * 512;
        long second = le(image).getInt((int) (fatAt + first * 4)) & 0xffffffffL;
        le(image).putInt((int) (fatAt + second * 4), (int) first);
        HostDisk disk = disk(image);
        try (ExFatFs fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), true, () -> NOW, null)) {
            Vfs vfs = new Vfs(() -> NOW);
            vfs.mount("/", fs, true);
            named(assertThrows(ErrnoException.class, () -> FatTools.readAll(vfs, "/frag.bin")), "loops", "frag.bin");
        }
    }

    @Test
    void aDirectoryContainingItselfIsNamed() throws Exception {
        byte[] image = seedImage();
        int parent = fileEntry(image, "dir one");
        int child = fileEntry(image, "Sub Directory");
        le(image).putInt(child + 32 + 20, le(image).getInt(parent + 32 + 20));
        le(image).putLong(child + 32 + 8, le(image).getLong(parent + 32 + 8));
        le(image).putLong(child + 32 + 24, le(image).getLong(parent + 32 + 24));
        image[child + 33] = image[parent + 33];
        reseal(image, child);
        named(walkFails(image), "loops", "Sub Directory");
    }

    private static ExFatCheck.Result check(byte[] image) throws Exception {
        HostDisk disk = disk(image);
        try (ExFatFs fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), true, () -> NOW, null)) {
            return ExFatCheck.check(fs);
        } finally {
            disk.close();
        }
    }

    @Test
    void checkFindsLostFreeAndCrossLinkedClusters() throws Exception {
        ExFatCheck.Result clean = check(seedImage());
        assertTrue(clean.isClean(), clean.problems().toString());
        assertEquals(16, clean.files());
        assertEquals(3, clean.directories());

        byte[] lost = seedImage();
        int at = fileEntry(lost, "blocker.bin");
        for (int k = 0; k < 3; k++) {
            lost[at + 32 * k] &= 0x7f; // the entry set deleted, its clusters left marked in use
        }
        ExFatCheck.Result r = check(lost);
        assertEquals(1, r.problems().size(), r.problems().toString());
        assertTrue(r.problems().get(0).contains("2 clusters are marked in use but belong to nothing (lost)"),
                r.problems().toString());

        byte[] backup = seedImage();
        backup[12 * 512 + 300] ^= 1;
        r = check(backup);
        assertEquals(List.of("backup boot region: sector 12 differs from sector 0 at offset 300"), r.problems());

        byte[] cross = seedImage();
        int a = fileEntry(cross, "file4.txt");
        int b = fileEntry(cross, "file6.txt");
        le(cross).putInt(b + 32 + 20, le(cross).getInt(a + 32 + 20));
        reseal(cross, b);
        r = check(cross);
        assertTrue(r.problems().stream().anyMatch(p -> p.contains("file6.txt") && p.contains("cross-linked")),
                r.problems().toString());
        assertTrue(r.problems().stream().anyMatch(p -> p.contains("lost")), r.problems().toString());
    }

    @Test
    void randomlyDamagedImagesAreHandled() throws Exception {
        byte[] seedImage = seedImage();
        ByteBuffer b = le(seedImage);
        long heap = (b.getInt(88) & 0xffffffffL) * 512;
        int metaEnd = (int) heap + 40 * 512; // boot regions, FAT, bitmap, up-case, root and the first directories
        Random r = new Random(16);
        for (int round = 0; round < 1200; round++) {
            byte[] image = seedImage.clone();
            int flips = 1 + r.nextInt(8);
            for (int i = 0; i < flips; i++) {
                int at = round % 5 == 0 ? r.nextInt(120) : round % 3 == 0 ? (int) heap + r.nextInt(40 * 512)
                        : r.nextInt(metaEnd);
                image[at] = (byte) (r.nextInt(4) == 0 ? 0xff : r.nextInt(256));
            }
            if (round % 2 == 0) {
                // Most boot damage ends at the checksum: recompute it so the fields behind it are tried.
                int sum = ExFatBoot.checksum(image, 512);
                for (int i = 11 * 512; i < 12 * 512; i += 4) {
                    le(image).putInt(i, sum);
                }
            }
            int rr = round;
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> exercise(image), "round " + rr);
        }
    }

    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.errno() + ": " + e.getMessage());
    }

    private static void exercise(byte[] image) throws Exception {
        for (boolean readOnly : new boolean[] {true, false}) {
            HostDisk disk = disk(image);
            ExFatFs fs;
            try {
                fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), readOnly, () -> NOW, null).closing(disk);
            } catch (ErrnoException e) {
                disk.close();
                defined(e);
                return;
            }
            try {
                ExFatCheck.check(fs);
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
                    {"truncate", "/dir one/file2.txt"}, {"write", "/dir one/Sub Directory/more.bin"},
                    {"write", "/frag.bin"}}) {
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
}
