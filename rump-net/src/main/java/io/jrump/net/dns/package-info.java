/**
 * DNS: the message format (RFC 1035 §4.1 with RFC 3596's AAAA and RFC 6891's OPT) as a checked
 * view ({@link io.jrump.net.dns.DnsPacket}) and a record ({@link io.jrump.net.dns.DnsMessage}),
 * and a stub resolver core ({@link io.jrump.net.dns.DnsResolver}) that reaches servers through a
 * {@link io.jrump.net.dns.DnsTransport} and takes time, timers and randomness from the host.
 *
 * <p>The parser refuses malformed messages only with a {@link io.jrump.net.dns.DnsFormatException}
 * ({@code EBADMSG}) naming a {@link io.jrump.net.dns.DnsFormatError}; no input makes it throw an
 * unchecked exception, loop without bound or allocate more than the message's size justifies.
 * Not yet wired into {@code NetStack}: see docs/rump-net.md, section DNS.
 */
package io.jrump.net.dns;
