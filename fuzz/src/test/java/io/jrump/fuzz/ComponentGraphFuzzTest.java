package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.Component;
import io.jrump.kernel.RumpKernel;
import io.jrump.kernel.internal.ComponentGraph;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Arbitrary component graphs — missing dependencies, cycles, duplicate names, subsets — into the
 * kernel's start ordering. Either an order comes back in which every component follows all its
 * dependencies and exactly the wanted closure is present, or an {@code ENOENT}/{@code EINVAL}
 * error does; nothing else.
 */
class ComponentGraphFuzzTest {
    private record C(String name, Set<String> dependencies) implements Component {
        @Override
        public void start(RumpKernel kernel) {
        }

        @Override
        public void stop() {
        }
    }

    @FuzzTest(maxDuration = "60s")
    void startOrderIsATopologicalOrderOrAnError(FuzzedDataProvider data) {
        int n = data.consumeInt(0, 12);
        List<Component> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = "c" + data.consumeInt(0, 14); // names may repeat or be missing
            Set<String> deps = new HashSet<>();
            int d = data.consumeInt(0, 4);
            for (int j = 0; j < d; j++) {
                deps.add("c" + data.consumeInt(0, 14));
            }
            all.add(new C(name, deps));
        }
        Set<String> wanted = new HashSet<>();
        int w = data.consumeInt(0, 3);
        for (int i = 0; i < w; i++) {
            wanted.add("c" + data.consumeInt(0, 14));
        }
        List<Component> order;
        try {
            order = ComponentGraph.startOrder(all, wanted);
        } catch (ErrnoException e) {
            assertTrue(e.errno() == Errno.ENOENT || e.errno() == Errno.EINVAL, e.getMessage());
            return;
        }
        Map<String, Integer> position = new HashMap<>();
        for (int i = 0; i < order.size(); i++) {
            assertEquals(null, position.put(order.get(i).name(), i), "a component appears twice");
        }
        for (Component c : order) {
            for (String dep : c.dependencies()) {
                Integer p = position.get(dep);
                assertTrue(p != null && p < position.get(c.name()), dep + " must start before " + c.name());
            }
        }
        Set<String> expected = closure(all, wanted.isEmpty() ? names(all) : wanted);
        assertEquals(expected, position.keySet());
    }

    private static Set<String> names(List<Component> all) {
        Set<String> s = new HashSet<>();
        all.forEach(c -> s.add(c.name()));
        return s;
    }

    private static Set<String> closure(List<Component> all, Set<String> roots) {
        Map<String, Component> byName = new HashMap<>();
        all.forEach(c -> byName.put(c.name(), c));
        Set<String> seen = new HashSet<>();
        List<String> todo = new ArrayList<>(roots);
        while (!todo.isEmpty()) {
            String n = todo.remove(todo.size() - 1);
            if (seen.add(n)) {
                todo.addAll(byName.get(n).dependencies());
            }
        }
        return seen;
    }
}
