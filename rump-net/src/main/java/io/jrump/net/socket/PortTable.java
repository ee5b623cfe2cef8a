package io.jrump.net.socket;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
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

    /**
     * One socket's claim on a port. An IPv6 wildcard ({@code ::}) binding without {@code v6Only}
     * is a dual-stack one: it also takes IPv4 traffic to the port, as Linux's
     * {@code net.ipv6.bindv6only=0} default has it.
     */
    public record Binding<S>(S socket, IpAddress address, int port, boolean reuseAddress, boolean v6Only) {
        /** Whether traffic to {@code a} reaches this binding. */
        boolean reaches(IpAddress a) {
            return address.equals(a) || covers(a);
        }

        boolean covers(IpAddress a) {
            return PortTable.covers(address, v6Only, a);
        }
    }

    /**
     * Whether {@code bound} is a wildcard that takes traffic to {@code a}: the wildcard of
     * {@code a}'s family, or the IPv6 one without {@code v6Only} for an IPv4 {@code a}.
     */
    public static boolean covers(IpAddress bound, boolean v6Only, IpAddress a) {
        return bound.isUnspecified() && (bound.version() == a.version() || a.version() == 4 && !v6Only);
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
    public int bind(S socket, IpAddress address, int port, boolean reuseAddress) throws ErrnoException {
        return bind(socket, address, port, reuseAddress, false, p -> true);
    }

    /**
     * As {@link #bind(Object, IpAddress, int, boolean)}, with {@code v6Only} (IPV6_V6ONLY, meaningful
     * for the IPv6 wildcard), and an ephemeral port must also pass {@code usable}: connect(2) uses it
     * to skip ports whose four-tuple a lingering connection (TIME_WAIT, or one whose socket is closed)
     * still holds, which this table no longer sees.
     */
    public int bind(S socket, IpAddress address, int port, boolean reuseAddress, boolean v6Only, IntPredicate usable)
            throws ErrnoException {
        if (port < 0 || port > 65535) {
            throw new ErrnoException(Errno.EINVAL, "port " + port);
        }
        if (port == 0) {
            port = ephemeral(address, usable);
        }
        Binding<S> binding = new Binding<>(socket, address, port, reuseAddress, v6Only);
        if (conflicts(binding)) {
            throw new ErrnoException(Errno.EADDRINUSE, (address.version() == 6 ? "[" + address + "]" : address) + ":" + port);
        }
        byPort.computeIfAbsent(port, p -> new ArrayList<>()).add(binding);
        return port;
    }

    private int ephemeral(IpAddress address, IntPredicate usable) throws ErrnoException {
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

    private boolean conflicts(Binding<S> n) {
        for (Binding<S> b : byPort.getOrDefault(n.port(), List.of())) {
            boolean overlap = b.address().equals(n.address()) || b.covers(n.address()) || n.covers(b.address());
            if (overlap && !(n.reuseAddress() && b.reuseAddress())) {
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

    /**
     * The socket bound to {@code port} that best matches {@code address}: an exact address, then
     * the wildcard of its family, then (for IPv4) a dual-stack IPv6 wildcard.
     */
    public S lookup(IpAddress address, int port) {
        S wildcard = null;
        S dualStack = null;
        for (Binding<S> b : byPort.getOrDefault(port, List.of())) {
            if (b.address().equals(address)) {
                return b.socket();
            }
            if (b.covers(address)) {
                if (b.address().version() == address.version()) {
                    wildcard = wildcard == null ? b.socket() : wildcard;
                } else if (dualStack == null) {
                    dualStack = b.socket();
                }
            }
        }
        return wildcard != null ? wildcard : dualStack;
    }

    /** Every socket bound to {@code port} that {@code address} reaches (for broadcast delivery). */
    public List<S> all(IpAddress address, int port) {
        List<S> out = new ArrayList<>();
        for (Binding<S> b : byPort.getOrDefault(port, List.of())) {
            if (b.reaches(address) || address.isBroadcast() && b.address().version() == 4) {
                out.add(b.socket());
            }
        }
        return out;
    }

    public int size() {
        return byPort.values().stream().mapToInt(List::size).sum();
    }
}
