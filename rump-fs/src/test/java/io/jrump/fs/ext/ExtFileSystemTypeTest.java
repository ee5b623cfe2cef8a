package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.fs.Mounts;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ext as a {@link FileSystemType} found through ServiceLoader: it names what mke2fs made as blkid
 * does (the outside oracle), mounts it, and devices no type reads get one message everywhere.
 */
class ExtFileSystemTypeTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("fstype");

    @AfterEach
    void close() {
        host.close();
    }

    @Test
    void theServiceLoaderFindsExtUnderAllItsNames() throws Exception {
        List<FileSystemType> all = FileSystemTypes.all();
        assertTrue(all.stream().anyMatch(t -> t instanceof ExtFileSystemType), all.toString());
        for (String name : List.of("ext4", "ext3", "ext2", "EXT4")) {
            assertInstanceOf(ExtFileSystemType.class, FileSystemTypes.byName(name));
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> FileSystemTypes.byName("nosuchfs"));
        assertEquals(Errno.ENODEV, e.errno());
        assertTrue(e.getMessage().contains("unknown filesystem type 'nosuchfs'") && e.getMessage().contains("ext4"),
                e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2", "ext3", "ext4"})
    void theProbeNamesWhatMke2fsMadeAsBlkidDoes(String type) throws Exception {
        Path img = dir.resolve(type + ".img");
        mke2fs(img, type, 1024, "8M", "-L", "lbl-" + type);
        String blkid = run("blkid", "-p", "-o", "value", "-s", "TYPE", img.toString()).trim();
        assertEquals(type, blkid, "blkid's view of what mke2fs -t " + type + " made");
        try (HostDisk d = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            FileSystemTypes.Match m = FileSystemTypes.identify(d);
            assertEquals(blkid + ", 1024-byte blocks, 8192 blocks, label 'lbl-" + type + "'", m.description());
            try (FileSystemOps fs = m.type().mount(d, FileSystemType.Options.of(true, () -> 0L))) {
                assertTrue(fs.getattr(fs.rootInode()).isDirectory());
            }
        }
    }

    /** A device of 4096-byte sectors (a 4Kn disk, a VHDX with 4 KiB logical sectors) that refuses smaller requests. */
    @Test
    void theProbeAndTheMountWorkOnFourKiBSectors() throws Exception {
        Path img = dir.resolve("4k.img");
        mke2fs(img, "ext4", 4096, "16M", "-L", "four");
        try (HostDisk d = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            io.jrump.blk.BlockDevice fourKn = new io.jrump.blk.ForwardingBlockDevice(d) {
                @Override
                public int sectorSize() {
                    return 4096;
                }

                @Override
                public void read(long offset, ByteBuffer dst) throws ErrnoException {
                    io.jrump.blk.internal.Requests.checkRead(name(), 4096, size(), offset, dst.remaining());
                    super.read(offset, dst);
                }
            };
            FileSystemTypes.Match m = FileSystemTypes.identify(fourKn);
            assertTrue(m.description().startsWith("ext4, 4096-byte blocks") && m.description().contains("'four'"),
                    m.description());
            try (FileSystemOps fs = m.type().mount(fourKn, FileSystemType.Options.of(true, () -> 0L))) {
                assertTrue(fs.getattr(fs.rootInode()).isDirectory());
            }
        }
    }

    /**
     * A superblock that records errors (as the kernel's ext4_error leaves it): read-only mounts
     * work, read-write ones are refused with the reason unless 'force' is given, and a forced
     * mount leaves the error state for e2fsck (dumpe2fs still says "clean with errors").
     */
    @Test
    void aFilesystemWithErrorsRecordedIsWrittenOnlyWhenForced() throws Exception {
        Path img = dir.resolve("errors.img");
        mke2fs(img, "ext4", 1024, "8M");
        run("debugfs", "-w", "-R", "ssv state 3", img.toString());
        FileSystemType ext = new ExtFileSystemType();
        try (HostDisk d = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            try (FileSystemOps fs = ext.mount(d, FileSystemType.Options.of(true, () -> 0L))) {
                assertTrue(fs.getattr(fs.rootInode()).isDirectory(), "read-only mounts work");
            }
            ErrnoException e = assertThrows(ErrnoException.class, () -> ext.mount(d, FileSystemType.Options.of(false, () -> 0L)));
            assertEquals(Errno.EUCLEAN, e.errno());
            assertTrue(e.getMessage().contains("records errors") && e.getMessage().contains("'force'"), e.getMessage());
            try (FileSystemOps fs = ext.mount(d, FileSystemType.Options.of(false, () -> 0L).withOptions(Map.of("force", "")))) {
                fs.create(fs.rootInode(), "written", 0100644, 0, 0, 0);
            }
        }
        assertTrue(run("dumpe2fs", "-h", img.toString()).contains("clean with errors"), "the error state is kept");
        assertTrue(run("debugfs", "-R", "ls /", img.toString()).contains("written"));
    }

    @Test
    void unknownMountOptionsAreRefusedAndWhatTheMountOwnedIsClosed() throws Exception {
        Path img = dir.resolve("e.img");
        mke2fs(img, "ext4", 1024, "8M");
        HostDisk d = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY);
        FileSystemType.Options o = FileSystemType.Options.of(true, () -> 0L).withOptions(Map.of("data", "journal"))
                .withOwned(List.of(d));
        ErrnoException e = assertThrows(ErrnoException.class, () -> new ExtFileSystemType().mount(d, o));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().contains("data"), e.getMessage());
        assertEquals(Errno.EBADF, assertThrows(ErrnoException.class, () -> d.read(0, ByteBuffer.allocate(512))).errno(),
                "the device the failed mount owned is closed");
    }

    @Test
    void theVfsMountsByTypeNameOrByProbing() throws Exception {
        Path img = dir.resolve("v.img");
        mke2fs(img, "ext3", 1024, "8M");
        Path blank = dir.resolve("blank.img");
        Files.write(blank, new byte[1 << 20]);
        try (Vfs vfs = new Vfs(() -> 0L)) {
            HostDisk d = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY);
            vfs.mount("/", "auto", d, FileSystemType.Options.of(true, () -> 0L).withOwned(List.of(d)));
            assertTrue(vfs.stat("/lost+found").isDirectory());
            HostDisk again = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY);
            vfs.mount("/lost+found", "ext3", again, FileSystemType.Options.of(true, () -> 0L).withOwned(List.of(again)));
            assertTrue(vfs.stat("/lost+found/lost+found").isDirectory());
            HostDisk none = HostDisk.open(host, blank.toString(), OpenMode.READ_ONLY);
            ErrnoException e = assertThrows(ErrnoException.class, () -> vfs.mount("/lost+found", "auto", none,
                    FileSystemType.Options.of(true, () -> 0L).withOwned(List.of(none))));
            assertEquals(Errno.EINVAL, e.errno());
            assertEquals(Errno.EBADF, assertThrows(ErrnoException.class,
                    () -> none.read(0, ByteBuffer.allocate(512))).errno(), "a failed mount closes what it owned");
            assertEquals(Errno.ENODEV, assertThrows(ErrnoException.class, () -> vfs.mount("/lost+found", "nosuchfs", none,
                    FileSystemType.Options.of(true, () -> 0L))).errno());
        }
    }

    @Test
    void devicesNoTypeReadsGetOneMessageThatSaysWhatIsThere() throws Exception {
        Path zeros = dir.resolve("zeros.img");
        Files.write(zeros, new byte[1 << 20]);
        Path mbr = dir.resolve("mbr.img");
        byte[] b = new byte[1 << 20];
        b[510] = 0x55;
        b[511] = (byte) 0xAA;
        Files.write(mbr, b);
        ErrnoException plain = assertThrows(ErrnoException.class,
                () -> Mounts.openImage(host, zeros.toString(), Mounts.Options.defaults().withReadOnly(true)));
        assertEquals(Errno.EINVAL, plain.errno());
        // The list grows with the types (sorted by name): what it starts with and that ext is in it.
        assertTrue(plain.getMessage().contains("no filesystem this library reads (")
                && plain.getMessage().contains("ext4/ext2/ext3/ext"), plain.getMessage());
        ErrnoException boot = assertThrows(ErrnoException.class,
                () -> Mounts.openImage(host, mbr.toString(), Mounts.Options.defaults().withReadOnly(true)));
        assertTrue(boot.getMessage().contains("; it holds an mbr partition table with no partitions: Invalid argument (EINVAL)"),
                boot.getMessage());
        assertTrue(plain.getMessage().contains("; its first 64 KiB are zeros (a blank disk?)"), plain.getMessage());
        try (HostDisk d = HostDisk.open(host, zeros.toString(), OpenMode.READ_ONLY)) {
            assertTrue(FileSystemTypes.probe(d).isEmpty());
        }
    }
}
