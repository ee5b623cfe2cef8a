package io.jrump.fuzz.kit;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.List;

/**
 * A FuzzedDataProvider answering from a script of numbers, for unit tests of the kit without the
 * Jazzer driver: each consume or pick takes the next number (wrapped into its range); booleans
 * are odd numbers; remainingBytes is the count left.
 */
final class ScriptedData {
    private ScriptedData() {
    }

    static FuzzedDataProvider of(long... script) {
        Deque<Long> left = new ArrayDeque<>();
        for (long v : script) {
            left.add(v);
        }
        return (FuzzedDataProvider) Proxy.newProxyInstance(FuzzedDataProvider.class.getClassLoader(),
                new Class<?>[] {FuzzedDataProvider.class}, (proxy, method, args) -> {
                    if (method.getName().equals("remainingBytes")) {
                        return left.size();
                    }
                    long next = left.isEmpty() ? 0 : left.poll();
                    switch (method.getName()) {
                        case "consumeBoolean":
                            return (next & 1) == 1;
                        case "consumeInt":
                            return (int) within(next, ((Number) args[0]).longValue(), ((Number) args[1]).longValue());
                        case "consumeLong":
                            return within(next, (Long) args[0], (Long) args[1]);
                        case "pickValue":
                            Object values = args[0];
                            if (values instanceof int[] a) {
                                return a[(int) within(next, 0, a.length - 1)];
                            }
                            if (values instanceof long[] a) {
                                return a[(int) within(next, 0, a.length - 1)];
                            }
                            if (values instanceof Collection<?> c) {
                                return List.copyOf(c).get((int) within(next, 0, c.size() - 1));
                            }
                            throw new UnsupportedOperationException("pickValue of " + values.getClass());
                        default:
                            throw new UnsupportedOperationException(method.getName() + " is not scripted");
                    }
                });
    }

    private static long within(long v, long min, long max) {
        return min + Math.floorMod(v, max - min + 1);
    }
}
