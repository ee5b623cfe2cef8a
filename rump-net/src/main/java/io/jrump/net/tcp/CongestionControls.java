package io.jrump.net.tcp;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.List;

/**
 * The congestion control algorithms a connection can use, by the names Linux gives them
 * ({@code TCP_CONGESTION}, {@code net.ipv4.tcp_congestion_control}): {@code cubic} (RFC 9438, the
 * default, as on Linux) and {@code reno} (NewReno, RFC 5681 with RFC 6582). Stateless.
 */
public final class CongestionControls {
    public static final String CUBIC = "cubic";
    public static final String RENO = "reno";
    /** What {@code net.ipv4.tcp_available_congestion_control} lists. */
    public static final List<String> AVAILABLE = List.of(RENO, CUBIC);

    private CongestionControls() {
    }

    /** {@code name} if it is an algorithm here; {@code ENOENT} (as Linux answers) if not. */
    public static String check(String name) throws ErrnoException {
        if (name == null || !AVAILABLE.contains(name)) {
            throw new ErrnoException(Errno.ENOENT, "congestion control \"" + name + "\" (available: "
                    + String.join(" ", AVAILABLE) + ")");
        }
        return name;
    }

    /** A new instance of the algorithm {@code name} (which {@link #check} accepted). */
    public static CongestionControl create(String name, int mss, long initialWindowBytes) {
        return switch (name) {
            case RENO -> new NewReno(mss, initialWindowBytes);
            case CUBIC -> new Cubic(mss, initialWindowBytes, true);
            default -> throw new IllegalArgumentException("congestion control " + name);
        };
    }
}
