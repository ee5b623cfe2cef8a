package io.jrump.host.linux.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SysTest {
    @TempDir
    Path dir;

    @Test
    void isAvailableOnThisLinuxMachine() {
        assertEquals(java.util.Optional.empty(), Sys.unavailableReason());
    }

    @Test
    void aFailedCallThrowsItsErrnoAndNamesTheCallAndPath() {
        String missing = dir.resolve("missing").toString();
        ErrnoException e = assertThrows(ErrnoException.class, () -> Sys.open(missing, Sys.O_RDONLY, 0));
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("open " + missing, e.detail());
        ErrnoException exists = assertThrows(ErrnoException.class,
                () -> Sys.open(dir.toString(), Sys.O_RDWR, 0));
        assertEquals(Errno.EISDIR, exists.errno());
    }

    @Test
    void anIoctlTheDescriptorDoesNotKnowFailsWithEnotty() throws Exception {
        Path f = Files.write(dir.resolve("f"), new byte[10]);
        int fd = Sys.open(f.toString(), Sys.O_RDONLY, 0);
        try {
            ErrnoException e = assertThrows(ErrnoException.class, () -> Sys.blockDeviceSize(fd, f.toString()));
            assertEquals(Errno.ENOTTY, e.errno());
            assertTrue(e.getMessage().startsWith("ioctl BLKGETSIZE64 " + f), e.getMessage());
        } finally {
            Sys.close(fd, f.toString());
        }
    }

    @Test
    void preadAndPwriteRoundTripAndSeekEndGivesTheSize() throws Exception {
        Path f = dir.resolve("g");
        int fd = Sys.open(f.toString(), Sys.O_RDWR | Sys.O_CREAT | Sys.O_EXCL, 0600);
        try {
            ByteBuffer src = ByteBuffer.allocateDirect(16).put("hello, pwrite(2)".getBytes()).flip();
            src.position(7);
            assertEquals(9, Sys.pwrite(fd, src, 100, "g"));
            assertEquals(7, src.position()); // untouched
            assertEquals(109, Sys.seekEnd(fd, "g"));
            ByteBuffer dst = ByteBuffer.allocateDirect(9);
            assertEquals(9, Sys.pread(fd, dst, 100, "g"));
            byte[] b = new byte[9];
            dst.get(0, b);
            assertEquals("pwrite(2)", new String(b));
            assertEquals(0, Sys.pread(fd, dst, 109, "g"));
        } finally {
            Sys.close(fd, "g");
        }
    }

    @Test
    void alignedBuffersAreAlignedAndOfTheSizeAskedFor() {
        for (int size : new int[] {1, 100, 4096, 5000}) {
            ByteBuffer b = Sys.alignedBuffer(size, 4096);
            assertTrue(b.isDirect());
            assertEquals(size, b.capacity());
            assertEquals(0, b.alignmentOffset(0, 4096));
        }
    }

    @Test
    void oDirectRefusesAMisalignedBufferSoTheFlagReallyReachesTheKernel() throws Exception {
        Path f = Files.write(dir.resolve("d"), new byte[8192]);
        int fd = Sys.open(f.toString(), Sys.O_RDWR | Sys.O_DIRECT, 0);
        try {
            ByteBuffer aligned = Sys.alignedBuffer(4096, 4096);
            assertEquals(4096, Sys.pread(fd, aligned, 4096, "d"));
            ByteBuffer misaligned = Sys.alignedBuffer(4096 + 512, 4096).position(1).slice().limit(4096);
            ErrnoException e = assertThrows(ErrnoException.class, () -> Sys.pread(fd, misaligned, 0, "d"));
            assertEquals(Errno.EINVAL, e.errno());
            assertEquals("pread d at 0x0", e.detail());
        } finally {
            Sys.close(fd, "d");
        }
    }
}
