package io.jrump.net.dns;

import java.net.InetAddress;
import java.util.Objects;

/** A name server: its address (built from bytes, never looked up) and port, 53 by default. */
public record DnsServer(InetAddress address, int port) {
    public static final int PORT = 53;

    public DnsServer {
        Objects.requireNonNull(address, "address");
        if (port < 1 || port > 0xffff) {
            throw new IllegalArgumentException("DNS server port " + port + " out of 1..65535");
        }
    }

    @Override
    public String toString() {
        return address.getHostAddress() + "#" + port;
    }
}
