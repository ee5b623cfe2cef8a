package io.jrump.hypercall;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * What a kernel asks for when it opens a network interface.
 *
 * @param mtu the L3 MTU wanted, 68 to 65535, or 0 for the host's default (1500 on virtual switches)
 * @param mac the hardware address wanted, or {@code null} for one the host assigns
 * @param offloads the offloads the kernel can handle on this interface; the host grants those it
 *     can ({@link HostNic#offloads()}). Empty unless asked for: a receiver that handles none
 *     never sees an offloaded frame.
 */
public record NicOptions(int mtu, MacAddress mac, Set<NicOffload> offloads) {
    public static final int DEFAULT_MTU = 1500;
    /** The smallest MTU IPv4 allows (RFC 791). */
    public static final int MIN_MTU = 68;
    public static final int MAX_MTU = 65535;

    public NicOptions {
        if (mtu != 0 && (mtu < MIN_MTU || mtu > MAX_MTU)) {
            throw new IllegalArgumentException("MTU " + mtu + " outside " + MIN_MTU + ".." + MAX_MTU);
        }
        offloads = Objects.requireNonNull(offloads, "offloads").isEmpty() ? NicOffload.NONE
                : Collections.unmodifiableSet(EnumSet.copyOf(offloads));
    }

    /** No offloads. */
    public NicOptions(int mtu, MacAddress mac) {
        this(mtu, mac, NicOffload.NONE);
    }

    /** These options asking for {@code offloads} ({@link NicOffload#ALL}, or {@link NicOffload#NONE}). */
    public NicOptions withOffloads(Set<NicOffload> offloads) {
        return new NicOptions(mtu, mac, offloads);
    }

    /** The host's default MTU and an address it assigns. */
    public static NicOptions defaults() {
        return new NicOptions(0, null);
    }

    public static NicOptions mtu(int mtu) {
        return new NicOptions(mtu, null);
    }

    /** The MTU to use: the one asked for, or {@link #DEFAULT_MTU}. */
    public int mtuOrDefault() {
        return mtu == 0 ? DEFAULT_MTU : mtu;
    }
}
