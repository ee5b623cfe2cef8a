package io.jrump.net.stack;

import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOffload;
import io.jrump.net.Ipv4Address;
import io.jrump.net.arp.ArpCache;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.pcap.PcapWriter;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One network interface of the stack: an Ethernet port on a host NIC, or the loopback. Holds its
 * addresses, MTU, neighbour cache and an optional capture. Owned by the event loop.
 */
public final class Interface {
    /** An address with its prefix, as {@code ip addr} shows it. */
    public record Address(Ipv4Address address, int prefixLength) {
        public Ipv4Address broadcast() {
            return new Ipv4Address(address.bits() | ~Ipv4Address.mask(prefixLength));
        }

        @Override
        public String toString() {
            return address + "/" + prefixLength;
        }
    }

    final String name;
    final HostNic nic; // null for the loopback
    final MacAddress mac;
    /** The NIC's MTU, which {@link #mtu} never exceeds. */
    final int nicMtu;
    /** The MTU in use: the NIC's, or lower as a DHCP lease's Interface MTU option asks. */
    int mtu;
    final Set<NicOffload> offloads; // what the NIC does for us; none on the loopback
    final List<Address> addresses = new ArrayList<>();
    final ArpCache<ByteBuf> arp;
    PcapWriter capture;
    /** The DHCP client running on this interface, or null. */
    DhcpSession dhcp;
    /** IPv6 on this interface, or null while it is off ({@link NetStack#enableIpv6}). */
    Ipv6Link v6;

    Interface(String name, HostNic nic, MacAddress mac, int mtu, ArpCache<ByteBuf> arp) {
        this.name = name;
        this.nic = nic;
        this.mac = mac;
        this.nicMtu = mtu;
        this.mtu = mtu;
        this.offloads = nic == null ? NicOffload.NONE : nic.offloads();
        this.arp = arp;
    }

    public String name() {
        return name;
    }

    public MacAddress mac() {
        return mac;
    }

    public int mtu() {
        return mtu;
    }

    /**
     * The offloads its NIC does: with {@link NicOffload#TX_CHECKSUM} and
     * {@link NicOffload#TX_TCP4_SEGMENTATION}, TCP sends segments of up to 64 KiB with partial
     * checksums; with the receive ones, flagged frames skip checksum verification and large TCP
     * segments are taken.
     */
    public Set<NicOffload> offloads() {
        return offloads;
    }

    /** Whether TCP may hand this interface large segments (TSO) with partial checksums. */
    boolean segmentsTcp() {
        return offloads.contains(NicOffload.TX_CHECKSUM) && offloads.contains(NicOffload.TX_TCP4_SEGMENTATION);
    }

    /** Whether TCP over IPv6 may hand this interface large segments (TSO6) with partial checksums. */
    boolean segmentsTcp6() {
        return offloads.contains(NicOffload.TX_CHECKSUM) && offloads.contains(NicOffload.TX_TCP6_SEGMENTATION);
    }

    public boolean isLoopback() {
        return nic == null;
    }

    public List<Address> addresses() {
        return List.copyOf(addresses);
    }

    /** The IPv6 addresses, with their state (tentative, preferred...), origin and lifetimes; empty while IPv6 is off. */
    public List<AddressAutoconfig.Address> ipv6Addresses() {
        return v6 == null ? List.of() : v6.publishedAddresses();
    }

    /** Whether {@code ip} is one of this interface's addresses or its directed broadcast. */
    boolean accepts(Ipv4Address ip) {
        for (Address a : addresses) {
            if (a.address().equals(ip)) {
                return true;
            }
        }
        return isSubnetBroadcast(ip) || ip.isBroadcast() || isLoopback() && ip.isLoopback();
    }

    /** Whether {@code ip} is the directed broadcast of one of this interface's subnets (no allocation: per packet). */
    boolean isSubnetBroadcast(Ipv4Address ip) {
        for (Address a : addresses) {
            if ((a.address().bits() | ~Ipv4Address.mask(a.prefixLength())) == ip.bits()) {
                return true;
            }
        }
        return false;
    }

    boolean owns(Ipv4Address ip) {
        for (Address a : addresses) {
            if (a.address().equals(ip)) {
                return true;
            }
        }
        return false;
    }

    /** The address to send from toward {@code dst}: one on the same subnet, else the first. */
    Ipv4Address sourceFor(Ipv4Address dst) {
        for (Address a : addresses) {
            if (dst.inPrefix(a.address(), a.prefixLength())) {
                return a.address();
            }
        }
        return addresses.isEmpty() ? Ipv4Address.ANY : addresses.get(0).address();
    }

    @Override
    public String toString() {
        StringBuilder v6s = new StringBuilder();
        for (AddressAutoconfig.Address a : ipv6Addresses()) {
            v6s.append(v6s.length() == 0 ? " inet6 " : ", ").append(a.address()).append('/').append(a.prefixLength())
                    .append(a.state() == AddressAutoconfig.AddressState.PREFERRED ? "" : " " + a.state().name().toLowerCase());
        }
        return name + " " + mac + " mtu " + mtu + " " + addresses + v6s + (offloads.isEmpty() ? "" : " offloads " + offloads);
    }
}
