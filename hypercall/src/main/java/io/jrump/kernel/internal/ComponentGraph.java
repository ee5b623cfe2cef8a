package io.jrump.kernel.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.Component;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Chooses the components a kernel starts and the order it starts them in: dependencies first,
 * ties broken by name so the order never depends on class-path order.
 */
public final class ComponentGraph {
    private ComponentGraph() {
    }

    /**
     * The components to start, in start order.
     *
     * @param available every component found
     * @param wanted    names asked for; empty means all
     * @throws ErrnoException {@code EINVAL} for two components with one name or a dependency
     *     cycle, {@code ENOENT} for a wanted name or a dependency nobody provides
     */
    public static List<Component> startOrder(List<Component> available, Set<String> wanted)
            throws ErrnoException {
        Map<String, Component> byName = new TreeMap<>();
        for (Component c : available) {
            Component prev = byName.put(c.name(), c);
            if (prev != null) {
                throw new ErrnoException(Errno.EINVAL, "two components are named '" + c.name() + "' ("
                        + prev.getClass().getName() + " and " + c.getClass().getName() + ")");
            }
        }
        Set<String> chosen = new TreeSet<>();
        Deque<String> todo = new ArrayDeque<>(wanted.isEmpty() ? byName.keySet() : wanted);
        while (!todo.isEmpty()) {
            String n = todo.pop();
            Component c = byName.get(n);
            if (c == null) {
                throw new ErrnoException(Errno.ENOENT, wanted.contains(n)
                        ? "no component named '" + n + "' (found: " + String.join(", ", byName.keySet()) + ")"
                        : "component dependency '" + n + "' not found (needed by " + neededBy(n, byName) + ")");
            }
            if (chosen.add(n)) {
                todo.addAll(c.dependencies());
            }
        }
        // Kahn's algorithm; a TreeSet as the ready queue keeps the order independent of discovery.
        Map<String, Integer> unmet = new TreeMap<>();
        for (String n : chosen) {
            unmet.put(n, byName.get(n).dependencies().size());
        }
        TreeSet<String> ready = new TreeSet<>();
        unmet.forEach((n, count) -> {
            if (count == 0) {
                ready.add(n);
            }
        });
        List<Component> order = new ArrayList<>(chosen.size());
        while (!ready.isEmpty()) {
            String n = ready.pollFirst();
            order.add(byName.get(n));
            for (String m : chosen) {
                if (byName.get(m).dependencies().contains(n) && unmet.merge(m, -1, Integer::sum) == 0) {
                    ready.add(m);
                }
            }
        }
        if (order.size() != chosen.size()) {
            Set<String> cyclic = new TreeSet<>(chosen);
            order.forEach(c -> cyclic.remove(c.name()));
            throw new ErrnoException(Errno.EINVAL, "component dependency cycle among " + cyclic);
        }
        return order;
    }

    private static String neededBy(String missing, Map<String, Component> byName) {
        List<String> users = new ArrayList<>();
        byName.forEach((n, c) -> {
            if (c.dependencies().contains(missing)) {
                users.add(n);
            }
        });
        return String.join(", ", users);
    }
}
