package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.ndp.NeighborCache;
import io.jrump.net.ndp.StableInterfaceId;
import io.jrump.net.wire.Checksum;
import io.jrump.net.wire.Icmpv6Packet;
import io.jrump.net.wire.Icmpv6Repr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv6Repr;
import io.jrump.net.wire.NdpOption;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Bytes as a script of Neighbor Discovery events fed to a {@link NeighborCache} and an
 * {@link AddressAutoconfig}, as the stack will feed them: ICMPv6 messages (parsed with
 * {@link Icmpv6Repr#parse}, the checksum repaired unless the script says not), packets to resolve,
 * reachability confirmations, manual addresses and the clock's passing, then {@code tick}. After
 * every step the bounds hold (entries, INCOMPLETE entries, packets per entry, addresses, routers,
 * prefixes, DNS servers), every packet handed to the cache is accounted for exactly once (sent,
 * queued, dropped, released with its answer or given up), and nothing throws but the parser's
 * defined errors.
 *
 * <p>Script, one step after another: {@code 0 flags lenHi lenLo message...} an ICMPv6 message
 * (flags bits 0–1 the source: ::, fe80::1, fe80::2, 2001:db8::5; bits 2–3 the destination:
 * ff02::1, our link-local address, the solicited-node group of the message's target field,
 * ff02::2; bit 4 keep the checksum as is; bit 5 IPv6 hop limit 64, not 255; bit 6 the source is
 * fe80:: plus the two bytes after flags); {@code 1 a b c}
 * advance the clock by the 24-bit value times 100 ms; {@code 2 i} resolve pool address {@code i}
 * (bit 7: {@code 2001:db8::} plus the next two bytes); {@code 3 i} confirm pool address
 * {@code i}; {@code 4} tick; {@code 5 i} add 2001:db8::i/64 by hand; others end the script.
 * Seeds: a Router Advertisement with SLAAC and RDNSS, DAD losing to a solicitation from ::,
 * resolution answered by an advertisement, a flood of solicitations.
 */
class NdpFuzzTest {
    static final int MAX_ENTRIES = 16;
    static final int MAX_INCOMPLETE = 4;
    static final int MAX_QUEUED = 2;
    static final int MAX_STEPS = 1000;
    static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");
    static final byte[] KEY = "jrump ndp fuzz secret key 32 b..".getBytes(StandardCharsets.US_ASCII);
    private static final Set<Errno> DEFINED = Set.of(Errno.EBADMSG, Errno.EPROTONOSUPPORT);
    private static final Ipv6Address[] SOURCES = {
        Ipv6Address.UNSPECIFIED, Ipv6Address.parse("fe80::1"), Ipv6Address.parse("fe80::2"), Ipv6Address.parse("2001:db8::5"),
    };
    private static final Ipv6Address[] POOL = {
        Ipv6Address.parse("fe80::1"), Ipv6Address.parse("fe80::2"), Ipv6Address.parse("2001:db8::5"),
        Ipv6Address.parse("2001:db8::6"), Ipv6Address.parse("2001:db8:1::1"),
    };

    /** The state of one run and its packet accounting. */
    private static final class Run {
        final AddressAutoconfig.Config config = new AddressAutoconfig.Config(1, true, AddressAutoconfig.IdentifierKind.STABLE,
                1500, 4, 3, 4, 3);
        long dropped;
        final NeighborCache<Integer> cache = new NeighborCache<>(
                new NeighborCache.Config(MAX_ENTRIES, MAX_INCOMPLETE, MAX_QUEUED, 600_000_000_000L), p -> dropped++);
        final AddressAutoconfig autoconf = new AddressAutoconfig(config, "eth0", MAC, new StableInterfaceId(KEY),
                new byte[0], new SplittableRandom(1));
        long now;
        int packets;
        long sent;
        long released;
        long unreachable;

        void checkBounds() {
            assertTrue(cache.size() <= MAX_ENTRIES, cache.size() + " entries");
            assertTrue(cache.incompleteCount() <= MAX_INCOMPLETE, cache.incompleteCount() + " incomplete");
            long queued = 0;
            long incomplete = 0;
            for (NeighborCache.Neighbor n : cache.snapshot().values()) {
                assertTrue(n.queued() <= MAX_QUEUED);
                assertEquals(n.state() == NeighborCache.State.INCOMPLETE, n.mac() == null);
                queued += n.queued();
                incomplete += n.state() == NeighborCache.State.INCOMPLETE ? 1 : 0;
            }
            assertEquals(incomplete, cache.incompleteCount());
            assertEquals(packets, sent + queued + dropped + released + unreachable, "every packet accounted for once");
            assertTrue(autoconf.addresses().size() <= config.maxAddresses());
            assertTrue(autoconf.defaultRouters().size() <= config.maxRouters());
            assertTrue(autoconf.onLinkPrefixes().size() <= config.maxPrefixes());
            assertTrue(autoconf.dnsServers().size() <= config.maxDnsServers());
            assertTrue(autoconf.mtu() >= 1280 && autoconf.mtu() <= 1500);
        }

        void tick() {
            NeighborCache.Tick<Integer> t = cache.tick(now);
            unreachable += t.unreachable().size();
            apply(autoconf.tick(now));
        }

        void apply(AddressAutoconfig.Changes c) {
            if (c.parametersChanged()) {
                cache.setReachableTime(autoconf.reachableTime());
                cache.setRetransTimer(autoconf.retransTimer());
            }
            if (c.routersChanged()) {
                autoconf.defaultRouters().keySet().forEach(r -> assertTrue(r.isLinkLocal()));
            }
        }
    }

    @FuzzTest(maxDuration = "60s")
    void script(byte[] input) {
        Run run = new Run();
        run.apply(run.autoconf.start(0));
        int at = 0;
        for (int step = 0; step < MAX_STEPS && at < input.length; step++) {
            int op = input[at++] & 0xff;
            switch (op) {
                case 0 -> {
                    if (at >= input.length) {
                        return;
                    }
                    int flags = input[at++] & 0xff;
                    Ipv6Address source = SOURCES[flags & 3];
                    if ((flags & 0x40) != 0 && input.length - at >= 2) {
                        source = new Ipv6Address(0xfe80_0000_0000_0000L, (input[at] & 0xffL) << 8 | input[at + 1] & 0xffL);
                        at += 2;
                    }
                    if (input.length - at < 2) {
                        return;
                    }
                    int length = Math.min((input[at] & 0xff) << 8 | input[at + 1] & 0xff, input.length - at - 2);
                    byte[] message = new byte[length];
                    System.arraycopy(input, at + 2, message, 0, length);
                    at += 2 + length;
                    message(run, flags, source, message);
                }
                case 1 -> {
                    if (input.length - at < 3) {
                        return;
                    }
                    long units = (input[at] & 0xffL) << 16 | (input[at + 1] & 0xffL) << 8 | input[at + 2] & 0xffL;
                    at += 3;
                    run.now += units * 100_000_000L;
                }
                case 2, 3 -> {
                    if (at >= input.length) {
                        return;
                    }
                    int i = input[at++] & 0xff;
                    Ipv6Address ip;
                    if ((i & 0x80) != 0 && input.length - at >= 2) {
                        ip = Ipv6Address.documentation((input[at] & 0xffL) << 8 | input[at + 1] & 0xffL);
                        at += 2;
                    } else {
                        ip = POOL[i % POOL.length];
                    }
                    if (op == 2) {
                        NeighborCache.Resolution r = run.cache.resolve(ip, run.packets++, run.now);
                        if (r.resolved()) {
                            run.sent++;
                        }
                    } else {
                        run.cache.confirmReachable(ip, run.now);
                    }
                }
                case 4 -> run.tick();
                case 5 -> {
                    if (at >= input.length) {
                        return;
                    }
                    try {
                        run.apply(run.autoconf.addManual(Ipv6Address.documentation(input[at++] & 0xff), 64, run.now));
                    } catch (ErrnoException e) {
                        assertTrue(Set.of(Errno.EEXIST, Errno.ENOSPC, Errno.EINVAL).contains(e.errno()), e.getMessage());
                    }
                }
                default -> {
                    return;
                }
            }
            run.checkBounds();
        }
        run.tick();
        run.checkBounds();
    }

    private static void message(Run run, int flags, Ipv6Address source, byte[] message) {
        Ipv6Address destination = switch (flags >> 2 & 3) {
            case 0 -> Ipv6Address.ALL_NODES;
            case 1 -> run.autoconf.addresses().isEmpty() ? Ipv6Address.ALL_NODES : run.autoconf.addresses().get(0).address();
            case 2 -> message.length >= 24 ? Ipv6Address.of(message, 8).solicitedNode() : Ipv6Address.ALL_NODES;
            default -> Ipv6Address.ALL_ROUTERS;
        };
        ByteBuf buf = Unpooled.wrappedBuffer(message);
        if ((flags & 0x10) == 0 && message.length >= 4) {
            buf.setShort(2, 0);
            long sum = Checksum.pseudoHeader(source, destination, IpProtocol.ICMPV6.value(), message.length);
            buf.setShort(2, Checksum.finish(Checksum.add(sum, buf, 0, message.length)));
        }
        Ipv6Repr ip = new Ipv6Repr(source, destination, IpProtocol.ICMPV6, message.length, (flags & 0x20) != 0 ? 64 : 255);
        Icmpv6Repr m;
        try {
            m = Icmpv6Repr.parse(Icmpv6Packet.parse(buf), ip);
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
            return;
        }
        long now = run.now;
        if (m instanceof Icmpv6Repr.RouterAdvertisement ra) {
            run.released += run.cache.routerSeen(source, linkLayer(ra.options(), true), now).size();
            run.apply(run.autoconf.routerAdvertisement(source, ra, now));
        } else if (m instanceof Icmpv6Repr.RouterSolicitation rs) {
            MacAddress mac = linkLayer(rs.options(), true);
            if (mac != null && !source.isUnspecified()) {
                run.released += run.cache.solicitationSeen(source, mac, now).size();
            }
        } else if (m instanceof Icmpv6Repr.NeighborSolicitation ns) {
            MacAddress mac = linkLayer(ns.options(), true);
            if (mac != null && !source.isUnspecified()) {
                run.released += run.cache.solicitationSeen(source, mac, now).size();
            }
            run.apply(run.autoconf.neighborSolicitation(source, ns, now));
        } else if (m instanceof Icmpv6Repr.NeighborAdvertisement na) {
            NeighborCache.Advertised<Integer> r = run.cache.advertisementSeen(na.target(), linkLayer(na.options(), false),
                    na.router(), na.solicited(), na.override(), now);
            run.released += r.sendable().size();
            if (r.noLongerRouter()) {
                run.apply(run.autoconf.removeRouter(na.target()));
            }
            run.apply(run.autoconf.neighborAdvertisement(na, now));
        } else if (m instanceof Icmpv6Repr.Redirect r) {
            run.autoconf.redirect(r);
        }
    }

    /** The first source (or target) link-layer address option, or null. */
    private static MacAddress linkLayer(List<NdpOption> options, boolean source) {
        for (NdpOption o : options) {
            if (source && o instanceof NdpOption.SourceLinkLayerAddress s) {
                return s.address();
            }
            if (!source && o instanceof NdpOption.TargetLinkLayerAddress t) {
                return t.address();
            }
        }
        return null;
    }
}
