package io.jrump.host.kit;

import io.jrump.hypercall.MacAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.HashMap;

/**
 * The forwarding decisions of a learning Ethernet switch (IEEE 802.1D without spanning tree or
 * ageing: ports are virtual and leave explicitly). A frame's source address is learned on its
 * ingress port; a frame to a learned unicast address goes to that port only; broadcast, multicast
 * and unknown unicast flood to every other port.
 *
 * <p>The table holds at most {@code maxEntries} addresses; when full it stops learning (and floods
 * for the rest), so hostile source addresses cannot grow it without bound. Not thread-safe: the
 * owning switch serializes calls.
 *
 * @param <P> the port type
 */
public final class LearningTable<P> {
    private final Set<P> ports = new LinkedHashSet<>();
    private final Map<MacAddress, P> learned = new HashMap<>();
    private final int maxEntries;

    public LearningTable(int maxEntries) {
        this.maxEntries = maxEntries;
    }

    public void attach(P port) {
        ports.add(port);
    }

    /** Removes the port and every address learned on it. */
    public void detach(P port) {
        ports.remove(port);
        learned.values().removeIf(p -> p.equals(port));
    }

    public int portCount() {
        return ports.size();
    }

    public int learnedCount() {
        return learned.size();
    }

    /**
     * Learns the frame's source on {@code ingress} and returns the ports it goes out on, in attach
     * order. The frame must hold at least the 12 address bytes.
     */
    public List<P> forward(ByteBuffer frame, P ingress) {
        int base = frame.position();
        MacAddress dst = MacAddress.read(frame, base);
        MacAddress src = MacAddress.read(frame, base + MacAddress.LENGTH);
        if (!src.isMulticast() && ports.contains(ingress)
                && (learned.containsKey(src) || learned.size() < maxEntries)) {
            learned.put(src, ingress);
        }
        if (!dst.isMulticast()) {
            P out = learned.get(dst);
            if (out != null) {
                return out.equals(ingress) ? List.of() : List.of(out);
            }
        }
        List<P> flood = new ArrayList<>(ports.size());
        for (P p : ports) {
            if (!p.equals(ingress)) {
                flood.add(p);
            }
        }
        return flood;
    }
}
