package io.jrump.host.jvm;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The switches a group of JVM hosts can reach, by name. Hosts built with the same registry are on
 * the same switches; {@link #shared()} is the one every host uses unless told otherwise. A switch
 * comes into being when the first NIC opens it. Thread-safe.
 */
public final class SwitchRegistry {
    private static final SwitchRegistry SHARED = new SwitchRegistry();

    private final ConcurrentMap<String, EthernetSwitch> switches = new ConcurrentHashMap<>();

    /** The JVM-wide registry. */
    public static SwitchRegistry shared() {
        return SHARED;
    }

    /** The switch of that name, made if it does not exist. */
    public EthernetSwitch switchNamed(String name) {
        return switches.computeIfAbsent(name, EthernetSwitch::new);
    }

    /** The switch of that name if a NIC has opened it. */
    public Optional<EthernetSwitch> find(String name) {
        return Optional.ofNullable(switches.get(name));
    }
}
