package io.jrump.kernel.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shared descriptor table: lowest free number, EMFILE at the limit, each descriptor its owner's. */
class DescriptorTableTest {
    private static final class Owner implements DescriptorTable.Owner {
        private final String kind;

        Owner(String kind) {
            this.kind = kind;
        }

        @Override
        public String kind() {
            return kind;
        }

        @Override
        public int read(int fd, ByteBuffer dst) {
            return 0;
        }

        @Override
        public int write(int fd, ByteBuffer src) {
            return 0;
        }

        @Override
        public void close(int fd) {
        }
    }

    private final Owner files = new Owner("file");
    private final Owner sockets = new Owner("socket");

    @Test
    void numbersAreSharedAndTheLowestFreeComesFirst() throws Exception {
        DescriptorTable t = new DescriptorTable(8);
        assertEquals(0, t.allocate(files, "f0"));
        assertEquals(1, t.allocate(sockets, "s1"));
        assertEquals(2, t.allocate(files, "f2"));
        assertEquals("f0", t.remove(0, files));
        assertEquals(0, t.allocate(sockets, "s0"));
        assertEquals(List.of(2), t.descriptors(files));
        assertEquals(List.of(0, 1), t.descriptors(sockets));
        assertSame(sockets, t.owner(1));
        assertEquals(3, t.size());
    }

    @Test
    void aDescriptorOfAnotherKindIsTheCallersErrnoAndAClosedOneIsEbadf() throws Exception {
        DescriptorTable t = new DescriptorTable(8);
        int f = t.allocate(files, "f");
        ErrnoException e = assertThrows(ErrnoException.class, () -> t.get(f, sockets, Errno.ENOTSOCK));
        assertEquals(Errno.ENOTSOCK, e.errno());
        assertTrue(e.getMessage().contains("is a file, not a socket"), e.getMessage());
        assertEquals(Errno.EBADF, assertThrows(ErrnoException.class, () -> t.remove(f, sockets)).errno());
        t.remove(f, files);
        assertEquals(Errno.EBADF, assertThrows(ErrnoException.class, () -> t.owner(f)).errno());
        assertEquals(Errno.EBADF, assertThrows(ErrnoException.class, () -> t.owner(-1)).errno());
    }

    @Test
    void theLimitIsEmfileAndAFreedSlotIsUsableAgain() throws Exception {
        DescriptorTable t = new DescriptorTable(3);
        for (int i = 0; i < 3; i++) {
            t.allocate(files, i);
        }
        ErrnoException e = assertThrows(ErrnoException.class, () -> t.allocate(sockets, "x"));
        assertEquals(Errno.EMFILE, e.errno());
        t.remove(1, files);
        assertEquals(1, t.allocate(sockets, "x"));
    }
}
