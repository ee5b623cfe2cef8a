package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.wire.Ipv6ExtensionHeader.FragmentHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.OptionsHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.RoutingHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.UnknownOptionAction;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The extension header chain of one IPv6 packet, walked from the fixed header to the upper
 * layer (RFC 8200 §4). The walk is bounded: at most {@code maxHeaders} extension headers, each
 * length checked against the payload's end, so a chain cannot run past the packet or on for
 * ever. It stops at the first header that is not an extension header this package knows (the
 * upper layer, ESP, AH or No Next Header), at a non-first fragment, or at the first
 * {@link Problem}: a finding of RFC 8200 that asks the receiver to discard the packet, with the
 * ICMPv6 Parameter Problem code and pointer to report if it should.
 *
 * @param headers the extension headers walked, in order
 * @param upperLayer the Next Header value after the last header walked
 * @param upperLayerIndex absolute index of what {@code upperLayer} names
 * @param upperLayerLength bytes from there to the end of the payload
 * @param fragment the fragment header, or null if none; a non-first fragment ends the walk
 * @param problem null if the packet may be processed
 */
public record Ipv6HeaderChain(
        List<Ipv6ExtensionHeader> headers,
        IpProtocol upperLayer,
        int upperLayerIndex,
        int upperLayerLength,
        FragmentHeader fragment,
        Problem problem) {
    /** The default bound on extension headers: more than any sane sender uses (RFC 7045, RFC 8504 §5.3 bound chains too). */
    public static final int DEFAULT_MAX_HEADERS = 8;
    /** ICMPv6 Parameter Problem codes (RFC 4443 §3.4). */
    public static final int ERRONEOUS_HEADER_FIELD = 0;
    public static final int UNRECOGNIZED_NEXT_HEADER = 1;
    public static final int UNRECOGNIZED_OPTION = 2;

    public Ipv6HeaderChain {
        headers = List.copyOf(headers);
        Objects.requireNonNull(upperLayer, "upperLayer");
    }

    /**
     * What the receiver must do: discard (silently, or with a Parameter Problem {@code code} whose
     * {@code pointer} counts from the start of the IPv6 header). Never {@link UnknownOptionAction#SKIP}.
     */
    public record Problem(UnknownOptionAction action, int code, int pointer, String reason) {
        public Problem {
            if (action == UnknownOptionAction.SKIP) {
                throw new IllegalArgumentException("a problem is not skipped");
            }
        }
    }

    /** Whether the upper layer is whole in this packet (no fragment header, or an atomic one). */
    public boolean complete() {
        return fragment == null || fragment.isAtomic();
    }

    /** Walks with the default bound and no options known beyond Pad1 and PadN. */
    public static Ipv6HeaderChain walk(Ipv6Packet packet) throws ErrnoException {
        return walk(packet, DEFAULT_MAX_HEADERS, Set.of());
    }

    /**
     * Walks the chain of {@code packet}.
     *
     * @param knownOptions option types the caller implements (in hop-by-hop and destination
     *     options); any other option is judged by its action bits
     * @throws ErrnoException {@code EBADMSG} for a header that runs past the payload or a chain
     *     longer than {@code maxHeaders}
     */
    public static Ipv6HeaderChain walk(Ipv6Packet packet, int maxHeaders, Set<Integer> knownOptions) throws ErrnoException {
        if (maxHeaders < 0) {
            throw new IllegalArgumentException("maxHeaders " + maxHeaders);
        }
        var buf = packet.buffer();
        int base = packet.index();
        int limit = packet.payloadIndex() + packet.payloadLength();
        int at = packet.payloadIndex();
        int nextHeaderField = base + Ipv6Packet.NEXT_HEADER;
        IpProtocol next = packet.nextHeader();
        List<Ipv6ExtensionHeader> headers = new ArrayList<>();
        FragmentHeader fragment = null;
        while (isExtension(next)) {
            if (headers.size() == maxHeaders) {
                throw Wire.malformed("IPv6 extension header chain at offset " + (at - base) + " goes on past "
                        + maxHeaders + " headers");
            }
            Ipv6ExtensionHeader h;
            Problem problem = null;
            if (next.equals(IpProtocol.HOP_BY_HOP)) {
                if (!headers.isEmpty()) {
                    problem = new Problem(UnknownOptionAction.DISCARD_SEND_PARAMETER_PROBLEM, UNRECOGNIZED_NEXT_HEADER,
                            nextHeaderField - base, "a Hop-by-Hop Options header not right after the IPv6 header (RFC 8200 §4.1)");
                    return new Ipv6HeaderChain(headers, next, at, limit - at, fragment, problem);
                }
                OptionsHeader o = OptionsHeader.parse(true, buf, at, limit);
                problem = optionProblem(o, at - base, knownOptions);
                h = o;
            } else if (next.equals(IpProtocol.IPV6_DESTINATION_OPTIONS)) {
                OptionsHeader o = OptionsHeader.parse(false, buf, at, limit);
                problem = optionProblem(o, at - base, knownOptions);
                h = o;
            } else if (next.equals(IpProtocol.IPV6_ROUTING)) {
                RoutingHeader r = RoutingHeader.parse(buf, at, limit);
                // No routing type is implemented here (type 0 is deprecated, RFC 5095 §3): with
                // segments left the packet is refused, pointing at the Routing Type (RFC 8200 §4.4).
                if (r.segmentsLeft() != 0) {
                    problem = new Problem(UnknownOptionAction.DISCARD_SEND_PARAMETER_PROBLEM, ERRONEOUS_HEADER_FIELD,
                            at + 2 - base, "routing type " + r.routingType() + " with " + r.segmentsLeft()
                                    + " segments left" + (r.routingType() == RoutingHeader.TYPE_0 ? " (type 0, RFC 5095)" : ""));
                }
                h = r;
            } else {
                FragmentHeader f = FragmentHeader.parse(buf, at, limit);
                if (fragment != null) {
                    problem = new Problem(UnknownOptionAction.DISCARD, ERRONEOUS_HEADER_FIELD, at - base,
                            "a second Fragment header");
                }
                fragment = f;
                h = f;
            }
            headers.add(h);
            nextHeaderField = at;
            at += h.bufferLength();
            next = h.nextHeader();
            if (problem != null) {
                return new Ipv6HeaderChain(headers, next, at, limit - at, fragment, problem);
            }
            if (h instanceof FragmentHeader f && f.fragmentOffset() != 0) {
                break; // a non-first fragment: what follows is fragment data, not headers
            }
        }
        return new Ipv6HeaderChain(headers, next, at, limit - at, fragment, null);
    }

    private static boolean isExtension(IpProtocol p) {
        return p.equals(IpProtocol.HOP_BY_HOP) || p.equals(IpProtocol.IPV6_DESTINATION_OPTIONS)
                || p.equals(IpProtocol.IPV6_ROUTING) || p.equals(IpProtocol.IPV6_FRAGMENT);
    }

    private static Problem optionProblem(OptionsHeader o, int headerOffset, Set<Integer> known) {
        for (Ipv6ExtensionHeader.Option opt : o.options()) {
            if (known.contains(opt.type()) || opt.unknownAction() == UnknownOptionAction.SKIP) {
                continue;
            }
            return new Problem(opt.unknownAction(), UNRECOGNIZED_OPTION, headerOffset + opt.offsetInHeader(),
                    "unrecognised option " + opt.type());
        }
        return null;
    }
}
