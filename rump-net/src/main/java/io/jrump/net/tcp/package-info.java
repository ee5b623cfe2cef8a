/**
 * TCP building blocks that are pure logic: sequence-number arithmetic ({@link io.jrump.net.tcp.SeqNum}), the
 * retransmission timer estimate ({@link io.jrump.net.tcp.RttEstimator}), congestion control (NewReno, CUBIC), the
 * receive-side reassembly queue with SACK blocks, the sender's SACK scoreboard, initial sequence numbers and SYN
 * cookies. None of them reads a clock, draws randomness or schedules anything: time ({@code long nowNanos}) and
 * secrets ({@code byte[]}) come from the caller, so every class here runs unchanged under the simulation host.
 *
 * <p>Not here yet, and coming later: the connection state machine (RFC 9293) that ties these together, its
 * timers on the kernel's event loop, and the sockets on top.
 */
package io.jrump.net.tcp;
