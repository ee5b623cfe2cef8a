package io.jrump.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Writes fuzz input by hand: a {@link FuzzedDataProvider} that answers each integral consume or
 * pick from a script of choices (wrapped into the asked range) and records the bytes Jazzer's
 * provider would have to read to give the same answers — libFuzzer's rule: integers are read from
 * the end of the input, most significant byte first, as many bytes as the range needs. The
 * recorded bytes, reversed, are a seed file that makes a harness take exactly those choices.
 * Only integral consumes (consumeInt, consumeLong, consumeBoolean, pickValue of int[] or long[])
 * are supported; anything else fails.
 */
final class ChoiceBytes {
    private final Deque<Long> script = new ArrayDeque<>();
    private final ByteArrayOutputStream readOrder = new ByteArrayOutputStream();

    private ChoiceBytes(long... choices) {
        for (long c : choices) {
            script.add(c);
        }
    }

    /** A provider answering from {@code choices}, and the recorder of its bytes. */
    static ChoiceBytes of(long... choices) {
        return new ChoiceBytes(choices);
    }

    /** The seed file: the bytes read, in file order. */
    byte[] input() {
        byte[] r = readOrder.toByteArray();
        byte[] out = new byte[r.length];
        for (int i = 0; i < r.length; i++) {
            out[i] = r[r.length - 1 - i];
        }
        return out;
    }

    private long take(long min, long max, int typeBytes) {
        long range = max - min;
        long v = script.isEmpty() ? 0 : Long.remainderUnsigned(script.poll(), range + 1 == 0 ? Long.MAX_VALUE : range + 1);
        int n = 0;
        while (n < typeBytes && n < 8 && (range >>> (8 * n)) != 0) {
            n++;
        }
        for (int i = n - 1; i >= 0; i--) {
            readOrder.write((int) (v >>> (8 * i)) & 0xff);
        }
        return min + v;
    }

    /** The provider; {@code remainingBytes} is the number of choices left in the script. */
    FuzzedDataProvider provider() {
        return (FuzzedDataProvider) Proxy.newProxyInstance(FuzzedDataProvider.class.getClassLoader(),
                new Class<?>[] {FuzzedDataProvider.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "remainingBytes" -> script.size();
                    case "consumeBoolean" -> (take(0, 255, 1) & 1) == 1;
                    case "consumeInt" -> (int) take(((Number) args[0]).longValue(), ((Number) args[1]).longValue(), 4);
                    case "consumeLong" -> take((Long) args[0], (Long) args[1], 8);
                    case "pickValue" -> {
                        if (args[0] instanceof int[] a) {
                            yield a[(int) take(0, a.length - 1, 4)];
                        }
                        if (args[0] instanceof long[] a) {
                            yield a[(int) take(0, a.length - 1, 4)];
                        }
                        throw new UnsupportedOperationException("pickValue of " + args[0].getClass());
                    }
                    default -> throw new UnsupportedOperationException(method.getName() + " is not an integral choice");
                });
    }
}
