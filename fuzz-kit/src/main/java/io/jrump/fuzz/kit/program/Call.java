package io.jrump.fuzz.kit.program;

import java.util.List;
import java.util.Objects;

/**
 * One line of a {@link Program}: a call by name with its arguments, on host {@code "a"} or
 * {@code "b"}, and the resource it defines ({@code r3 = open(...)}), if any.
 *
 * <p>Argument values are {@link String} (paths, names, addresses), {@link Long} (numbers, modes,
 * flags and constants), {@link Resource} (a descriptor a previous call returned) and {@link Data}.
 * Calls are made by {@link Program#parse} (or the generator, which goes through it), so every call
 * a program holds has passed its signature's checks.
 *
 * @param result the resource number this call defines ({@code rN =}), or -1
 * @param host the host the call runs on: the one of its resource argument, else {@code "a"} unless
 *     a {@code socket} line says {@code b:}
 * @param name the call's name, as in {@link Signature}
 * @param args the arguments, in order, typed as {@link Signature#args} says
 */
public record Call(int result, String host, String name, List<Object> args) {
    /** A reference to the descriptor {@code r<n>} a previous call returned. */
    public record Resource(int n) {
        @Override
        public String toString() {
            return "r" + n;
        }
    }

    public Call {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(name, "name");
        args = List.copyOf(args);
    }

    /** The signature of this call. */
    public Signature signature() {
        return Signature.of(name);
    }

    /** The line as {@link Program#text()} prints it. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        if (name.equals("socket") && !host.equals("a")) {
            b.append(host).append(": ");
        }
        if (result >= 0) {
            b.append('r').append(result).append(" = ");
        }
        b.append(name).append('(');
        List<Signature.Arg> kinds = signature().args();
        for (int i = 0; i < args.size(); i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append(kinds.get(i).print(args.get(i)));
        }
        return b.append(')').toString();
    }
}
