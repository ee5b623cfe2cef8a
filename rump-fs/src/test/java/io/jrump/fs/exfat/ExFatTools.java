package io.jrump.fs.exfat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.fs.fat.FatTools;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** exfatprogs and exfat-fuse run from tests: a missing tool fails the test, it does not skip it. */
final class ExFatTools {
    static final long NOW = FatTools.NOW;

    private ExFatTools() {
    }

    /** An image of {@code bytes} made by {@code mkfs.exfat} with {@code args}. */
    static Path mkfs(Path img, long bytes, String... args) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(bytes);
        }
        String[] cmd = new String[args.length + 2];
        cmd[0] = "mkfs.exfat";
        System.arraycopy(args, 0, cmd, 1, args.length);
        cmd[cmd.length - 1] = img.toString();
        FatTools.run(cmd);
        return img;
    }

    /** {@code fsck.exfat -n} finds nothing wrong: exit 0 and no complaint. */
    static void assertFsckClean(Path img) throws Exception {
        StringBuilder out = new StringBuilder();
        int rc = FatTools.exec(out, "fsck.exfat", "-n", "-v", img.toString());
        assertEquals(0, rc, "fsck.exfat -n " + img + ":\n" + out);
        for (String bad : List.of("corrupt", "ERROR", "error", "dirty", "Fix", "fix")) {
            assertTrue(!out.toString().contains(bad), "fsck.exfat -n " + img + " says '" + bad + "':\n" + out);
        }
    }

    /** Mounts an image on a new VFS; closing the VFS unmounts and closes the image. */
    static Vfs mount(JvmHost host, Path img, boolean readOnly, Map<String, String> options) throws Exception {
        BlockDevice dev = HostDisk.open(host, img.toString(), readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE);
        Vfs vfs = new Vfs(() -> NOW);
        vfs.mount("/", "exfat", dev, FileSystemType.Options.of(readOnly, () -> NOW).withOptions(options)
                .withOwned(List.of(dev)));
        return vfs;
    }

    /**
     * Mounts through exfat-fuse (root only) and returns what unmounts it. Run as root, exfat-fuse
     * mounts only block devices ("blkdev" FUSE mounts), so the image goes on a loop device first;
     * unmounting a blkdev FUSE mount waits for the daemon to write everything back.
     */
    static AutoCloseable fuse(Path img, Path mnt, String options) throws Exception {
        String loop = FatTools.run("losetup", "-f", "--show", img.toString()).trim();
        StringBuilder out = new StringBuilder();
        if (FatTools.exec(out, "mount.exfat-fuse", "-o", options, loop, mnt.toString()) != 0) {
            FatTools.exec(new StringBuilder(), "losetup", "-d", loop);
            assertEquals("", out.toString(), "mount.exfat-fuse failed");
        }
        return () -> {
            StringBuilder u = new StringBuilder();
            int rc = FatTools.exec(u, "umount", mnt.toString());
            FatTools.exec(u, "losetup", "-d", loop);
            assertEquals(0, rc, "umount " + mnt + ": " + u);
        };
    }
}
