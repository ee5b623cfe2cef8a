package io.jrump.host.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.jrump.hypercall.Errno;
import org.junit.jupiter.api.Test;

class BlockRequestsTest {
    @Test
    void readsMustLieInside() {
        assertNull(BlockRequests.checkRead(0, 4096, 4096));
        assertNull(BlockRequests.checkRead(4096, 0, 4096));
        assertEquals(Errno.EINVAL, BlockRequests.checkRead(4095, 2, 4096));
        assertEquals(Errno.EINVAL, BlockRequests.checkRead(-1, 1, 4096));
        assertEquals(Errno.EINVAL, BlockRequests.checkRead(1, Long.MAX_VALUE, 4096), "no overflow");
    }

    @Test
    void writesCheckReadOnlyThenRangeThenSpace() {
        assertEquals(Errno.EROFS, BlockRequests.checkWrite(-1, 1, 10, true, false));
        assertEquals(Errno.EINVAL, BlockRequests.checkWrite(-1, 1, 10, false, true));
        assertEquals(Errno.EINVAL, BlockRequests.checkWrite(Long.MAX_VALUE, 2, 10, false, true));
        assertEquals(Errno.ENOSPC, BlockRequests.checkWrite(8, 4, 10, false, false));
        assertNull(BlockRequests.checkWrite(8, 4, 10, false, true));
    }

    @Test
    void discardsCheckReadOnlyAndRange() {
        assertEquals(Errno.EROFS, BlockRequests.checkDiscard(0, 1, 10, true));
        assertEquals(Errno.EINVAL, BlockRequests.checkDiscard(5, 6, 10, false));
        assertNull(BlockRequests.checkDiscard(5, 5, 10, false));
    }
}
