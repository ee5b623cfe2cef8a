package io.jrump.fuzz.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.DirEntry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TreesTest {
    @Test
    void everyPathUnderTheRootSortedWithoutDotAndDotDot() throws ErrnoException {
        Map<String, List<DirEntry>> dirs = Map.of(
                "/", List.of(dir(".", 2), dir("..", 2), dir("b", 12), file("a", 13)),
                "/b", List.of(dir(".", 12), dir("..", 2), dir("c", 14), file("z", 15)),
                "/b/c", List.of(dir(".", 14), dir("..", 12)));
        Trees.Lister lister = d -> {
            List<DirEntry> l = dirs.get(d);
            if (l == null) {
                throw new ErrnoException(Errno.ENOENT, d);
            }
            return l;
        };
        assertEquals(List.of("/", "/a", "/b", "/b/c", "/b/z"), List.copyOf(Trees.paths(lister)));
    }

    private static DirEntry dir(String name, long ino) {
        return new DirEntry(name, ino, DirEntry.DT_DIR);
    }

    private static DirEntry file(String name, long ino) {
        return new DirEntry(name, ino, DirEntry.DT_REG);
    }
}
