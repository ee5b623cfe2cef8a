package io.jrump.hypercall;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ErrnoTest {
    @Test
    void numbersAreLinuxs() {
        assertEquals(2, Errno.ENOENT.number());
        assertEquals(28, Errno.ENOSPC.number());
        assertEquals(30, Errno.EROFS.number());
        assertEquals(38, Errno.ENOSYS.number());
        assertEquals(95, Errno.EOPNOTSUPP.number());
        assertEquals(104, Errno.ECONNRESET.number());
        assertEquals(110, Errno.ETIMEDOUT.number());
        assertEquals(111, Errno.ECONNREFUSED.number());
        assertEquals(117, Errno.EUCLEAN.number());
    }

    @Test
    void numbersAreUniqueAndRoundTrip() {
        Set<Integer> seen = new HashSet<>();
        for (Errno e : Errno.values()) {
            assertTrue(seen.add(e.number()), "duplicate number " + e.number());
            assertSame(e, Errno.ofNumber(e.number()));
            assertTrue(Errno.isKnown(e.number()));
            assertFalse(e.description().isEmpty());
        }
    }

    @Test
    void unknownNumbersAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Errno.ofNumber(0));
        assertThrows(IllegalArgumentException.class, () -> Errno.ofNumber(-5));
        assertThrows(IllegalArgumentException.class, () -> Errno.ofNumber(41)); // unused in Linux
        assertThrows(IllegalArgumentException.class, () -> Errno.ofNumber(100_000));
        assertFalse(Errno.isKnown(41));
    }

    @Test
    void exceptionMessageNamesWhatFailedAndTheErrno() {
        ErrnoException e = new ErrnoException(Errno.EUCLEAN, "ext4 inode 12: extent header magic 0x0000");
        assertEquals("ext4 inode 12: extent header magic 0x0000: Structure needs cleaning (EUCLEAN)", e.getMessage());
        assertEquals(Errno.EUCLEAN, e.errno());
        assertEquals("ext4 inode 12: extent header magic 0x0000", e.detail());
        assertEquals("No such file or directory (ENOENT)", new ErrnoException(Errno.ENOENT).getMessage());
    }
}
