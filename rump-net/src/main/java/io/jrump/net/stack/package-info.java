/**
 * The IPv4 stack of one kernel, everything on the kernel's event loop: {@link io.jrump.net.stack.NetStack}
 * (interfaces, ARP, IPv4 with fragment reassembly, ICMP, routing, pcap capture, a few Linux-like sysctls),
 * {@code Udp} and ping sockets, and TCP in three parts: {@code Tcp} (demultiplexing, ports, ISNs, resets, SYN
 * cookies), {@code TcpListener} (handshake and accept queues) and {@code TcpConnection} (one connection's state
 * machine: RFC 9293 handshake and close, MSS and window scaling, Nagle, delayed ACKs, RFC 6298 retransmission with
 * backoff, CUBIC with NewReno-style fast recovery, RFC 7323 timestamps and PAWS, RFC 2018 SACK with an RFC 6675-lite
 * sender, zero-window probes, RFC 5961 challenge ACKs, keepalive, SO_LINGER, receive-buffer autotuning).
 * {@link io.jrump.net.stack.Sockets} is the BSD socket API over them. A connection's control block is split the way
 * RFC 9293 3.3.1 reads, {@code SendSequence} and {@code ReceiveSequence}, with its timers in {@code TcpTimers}; each
 * keeps its own invariants.
 *
 * <p>Not there yet: IPv6; TCP urgent data, ECN, D-SACK, RACK/TLP, F-RTO, a full RFC 6675 pipe estimate, path MTU
 * discovery, send-buffer autotuning, TCP Fast Open, timestamps and SACK on connections made from SYN cookies,
 * {@code SHUT_RD}, and per-socket congestion control choice.
 */
package io.jrump.net.stack;
