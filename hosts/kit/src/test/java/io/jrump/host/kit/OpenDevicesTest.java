package io.jrump.host.kit;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenDevicesTest {
    private final List<String> closed = new ArrayList<>();
    private final OpenDevices open = new OpenDevices("h");

    @Test
    void closingTheHostClosesWhatIsStillOpenOldestFirst() throws ErrnoException {
        open.register("a", () -> closed.add("a"));
        open.register("b", () -> closed.add("b"));
        open.register("c", () -> closed.add("c"));
        open.unregister("b"); // closed by itself
        assertTrue(open.closeAll());
        assertEquals(List.of("a", "c"), closed);
        assertFalse(open.closeAll(), "a second close does nothing");
        assertEquals(List.of("a", "c"), closed);
    }

    @Test
    void afterCloseOpeningFailsWithEshutdownAndTheLateDeviceIsClosed() throws ErrnoException {
        assertDoesNotThrow(open::checkOpen);
        open.closeAll();
        assertEquals(Errno.ESHUTDOWN, assertThrows(ErrnoException.class, open::checkOpen).errno());
        ErrnoException e = assertThrows(ErrnoException.class, () -> open.register("late", () -> closed.add("late")));
        assertEquals(Errno.ESHUTDOWN, e.errno());
        assertEquals(List.of("late"), closed, "a device that lost the race is not leaked");
    }
}
