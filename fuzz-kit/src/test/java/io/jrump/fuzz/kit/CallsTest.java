package io.jrump.fuzz.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CallsTest {

    @Test
    void aSequenceLogsEachCallAndAnUnexpectedErrnoIsAFindingWithTheLog() {
        List<Calls.Call> calls = List.of(new Calls.Call("ok", d -> "() = 0"),
                new Calls.Call("refused", d -> {
                    throw new ErrnoException(Errno.ENOENT, "no");
                }));
        List<String> log = Calls.sequence(ScriptedData.of(0, 1, 0, 1, 1, 0, 0), 5, Set.of(Errno.ENOENT), calls);
        assertEquals(List.of("ok () = 0", "refused -> ENOENT", "ok () = 0", "refused -> ENOENT", "refused -> ENOENT"), log);
        assertEquals(2, Calls.sequence(ScriptedData.of(0, 0), 5, Set.of(), calls).size(), "stops when the input is used up");
        AssertionError e = assertThrows(AssertionError.class,
                () -> Calls.sequence(ScriptedData.of(0, 1, 0), 5, Set.of(), calls));
        assertTrue(e.getMessage().contains("call 1 failed with ENOENT") && e.getMessage().contains("ok () = 0"),
                e.getMessage());
    }

    @Test
    void pathsSizesAndDescriptorsStayInTheirRanges() {
        FuzzedDataProvider d = ScriptedData.of(5, 0, 700, 1, 2, 0, 7);
        assertTrue(Calls.PATHS.contains(Calls.path(d)));
        int size = Calls.size(d, 600);
        assertTrue(size >= 0 && size <= 600, "size " + size);
        Calls.Descriptors fds = new Calls.Descriptors();
        fds.add(3);
        fds.add(4);
        assertEquals(Calls.PATHS.get(5), Calls.path(ScriptedData.of(5)));
        assertEquals(4096, Calls.size(ScriptedData.of(1, 8), 5000), "an edge");
        assertEquals(4, fds.pick(ScriptedData.of(1, 1)), "an open descriptor");
        assertEquals(99, fds.pick(ScriptedData.of(0, 100)), "one time in sixteen a closed one: EBADF paths");
        fds.remove(3);
        assertEquals(List.of(4), fds.open());
    }
}
