package io.jrump.net.socket;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;
import java.util.function.IntSupplier;

/**
 * Who owns which local port of one protocol: explicit binds with the BSD rules (a port taken on
 * the wildcard address conflicts with every address; {@code SO_REUSEADDR} on both lets them
 * share), and ephemeral ports picked as RFC 6056 suggests — a random start from the caller's
 * randomness, then the next free one — from Linux's default range 32768–60999. Not thread-safe:
 * the stack owns it on its event loop.
 *
 * @param <S> the socket a binding belongs to
 */
public final class PortTable<S> {
    public static final int EPHEMERAL_FIRST = 32768;
    public static final int EPHEMERAL_LAST = 60999;

    /** One socket's claim on a port. */
    public record Binding<S>(S socket, Ipv4Address address, int port, boolean reuseAddress) {
    }

    private final Map<Integer, List<Binding<S>>> byPort = new HashMap<>();
    private final IntSupplier random;

    /** @param random the host's randomness, for where ephemeral searches start */
    public PortTable(IntSupplier random) {
        this.random = random;
    }

    /**
     * Binds {@code socket} to {@code address:port}; port 0 picks an ephemeral port. Returns the
     * port. {@code EADDRINUSE} if taken, {@code EINVAL} for a port outside 0..65535.
     */
    public int bind(S socket, Ipv4Address address, int port, boolean reuseAddress) throws ErrnoException {
        return bind(socket, address, port, reuseAddress, p -> true);
    }

    /**
     * As {@link #bind(Object, Ipv4Address, int, boolean)}, but an ephemeral port must also pass
     * {@code usable}: connect(2) uses it to skip ports whose four-tuple a lingering connection
     * (TIME_WAIT, or one whose socket is closed) still holds, which this table no longer sees.
     */
    public int bind(S socket, Ipv4Address address, int port, boolean reuseAddress, IntPredicate usable)
            throws ErrnoException {
        if (port < 0 || port > 65535) {
            throw new ErrnoException(Errno.EINVAL, "port " + port);
        }
        if (port == 0) {
            port = ephemeral(address, usable);
        } else if (conflicts(address, port, reuseAddress)) {
            throw new ErrnoException(Errno.EADDRINUSE, address + ":" + port);
        }
        byPort.computeIfAbsent(port, p -> new ArrayList<>()).add(new Binding<>(socket, address, port, reuseAddress));
        return port;
    }

    private int ephemeral(Ipv4Address address, IntPredicate usable) throws ErrnoException {
        int range = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
        int start = Math.floorMod(random.getAsInt(), range);
        for (int i = 0; i < range; i++) {
            int port = EPHEMERAL_FIRST + (start + i) % range;
            if (!byPort.containsKey(port) && usable.test(port)) {
                return port;
            }
        }
        throw new ErrnoException(Errno.EADDRNOTAVAIL, "no free ephemeral port for " + address);
    }

    private boolean conflicts(Ipv4Address address, int port, boolean reuseAddress) {
        for (Binding<S> b : byPort.getOrDefault(port, List.of())) {
            boolean overlap = b.address().isUnspecified() || address.isUnspecified() || b.address().equals(address);
            if (overlap && !(reuseAddress && b.reuseAddress())) {
                return true;
            }
        }
        return false;
    }

    public void unbind(S socket, int port) {
        List<Binding<S>> list = byPort.get(port);
        if (list != null) {
            list.removeIf(b -> b.socket() == socket);
            if (list.isEmpty()) {
                byPort.remove(port);
            }
        }
    }

    /** The socket bound to {@code port} that best matches {@code address}: an exact address before the wildcard. */
    public S lookup(Ipv4Address address, int port) {
        S wildcard = null;
        for (Binding<S> b : byPort.getOrDefault(port, List.of())) {
            if (b.address().equals(address)) {
                return b.socket();
            }
            if (b.address().isUnspecified() && wildcard == null) {
                wildcard = b.socket();
            }
        }
        return wildcard;
    }

    /** Every socket bound to {@code port} that {@code address} reaches (for broadcast delivery). */
    public List<S> all(Ipv4Address address, int port) {
        List<S> out = new ArrayList<>();
        for (Binding<S> b : byPort.getOrDefault(port, List.of())) {
            if (b.address().isUnspecified() || b.address().equals(address) || address.isBroadcast()) {
                out.add(b.socket());
            }
        }
        return out;
    }

    public int size() {
        return byPort.values().stream().mapToInt(List::size).sum();
    }
}
