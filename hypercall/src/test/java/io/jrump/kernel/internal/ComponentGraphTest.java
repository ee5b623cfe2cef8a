package io.jrump.kernel.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.Component;
import io.jrump.kernel.RumpKernel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ComponentGraphTest {
    private record C(String name, Set<String> dependencies) implements Component {
        C(String name, String... deps) {
            this(name, Set.of(deps));
        }

        @Override
        public void start(RumpKernel kernel) {
        }

        @Override
        public void stop() {
        }
    }

    private static List<String> names(List<Component> cs) {
        return cs.stream().map(Component::name).toList();
    }

    @Test
    void dependenciesComeFirstAndTiesGoByName() throws Exception {
        List<Component> all = List.of(new C("fs", "blk", "vfs"), new C("vfs"), new C("net"), new C("blk"),
                new C("fuse", "fs"));
        assertEquals(List.of("blk", "net", "vfs", "fs", "fuse"), names(ComponentGraph.startOrder(all, Set.of())));
    }

    @Test
    void theOrderDoesNotDependOnDiscoveryOrder() throws Exception {
        List<Component> all = new ArrayList<>(List.of(new C("a"), new C("b", "a"), new C("c", "a"),
                new C("d", "b", "c"), new C("e"), new C("f", "e", "d")));
        List<String> first = names(ComponentGraph.startOrder(all, Set.of()));
        Random rnd = new Random(5);
        for (int i = 0; i < 50; i++) {
            Collections.shuffle(all, rnd);
            assertEquals(first, names(ComponentGraph.startOrder(all, Set.of())));
        }
    }

    @Test
    void aWantedSubsetPullsInItsDependenciesOnly() throws Exception {
        List<Component> all = List.of(new C("fs", "blk"), new C("blk"), new C("net"));
        assertEquals(List.of("blk", "fs"), names(ComponentGraph.startOrder(all, Set.of("fs"))));
    }

    @Test
    void missingComponentsAndDependenciesAreNamed() {
        List<Component> all = List.of(new C("fs", "blk"));
        ErrnoException dep = assertThrows(ErrnoException.class, () -> ComponentGraph.startOrder(all, Set.of()));
        assertEquals(Errno.ENOENT, dep.errno());
        assertTrue(dep.getMessage().contains("'blk'") && dep.getMessage().contains("needed by fs"), dep.getMessage());
        ErrnoException wanted = assertThrows(ErrnoException.class,
                () -> ComponentGraph.startOrder(all, Set.of("net")));
        assertTrue(wanted.getMessage().contains("no component named 'net'"), wanted.getMessage());
    }

    @Test
    void cyclesAndDuplicateNamesAreRefused() {
        ErrnoException cycle = assertThrows(ErrnoException.class, () -> ComponentGraph.startOrder(
                List.of(new C("a", "b"), new C("b", "c"), new C("c", "a"), new C("d")), Set.of()));
        assertEquals(Errno.EINVAL, cycle.errno());
        assertTrue(cycle.getMessage().contains("[a, b, c]"), cycle.getMessage());
        ErrnoException dup = assertThrows(ErrnoException.class,
                () -> ComponentGraph.startOrder(List.of(new C("a"), new C("a")), Set.of()));
        assertEquals(Errno.EINVAL, dup.errno());
    }
}
