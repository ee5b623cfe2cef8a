package io.jrump.net.stack;

import static io.jrump.net.wire.TcpSegment.ACK;
import static io.jrump.net.wire.TcpSegment.FIN;
import static io.jrump.net.wire.TcpSegment.PSH;
import static io.jrump.net.wire.TcpSegment.RST;
import static io.jrump.net.wire.TcpSegment.SYN;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
import io.jrump.net.socket.Readiness;
import io.jrump.net.tcp.CongestionControl;
import io.jrump.net.tcp.AbstractCongestionControl;
import io.jrump.net.tcp.ByteQueue;
import io.jrump.net.tcp.CongestionControls;
import io.jrump.net.tcp.ReassemblyQueue;
import io.jrump.net.tcp.RttEstimator;
import io.jrump.net.tcp.SackScoreboard;
import io.jrump.net.tcp.SeqNum;
import io.jrump.net.wire.TcpRepr;
import io.jrump.net.wire.TcpRepr.SackBlock;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One TCP connection's control block and state machine (RFC 9293): the three-way handshake
 * (both active and passive, simultaneous open included), data both ways with MSS segmentation,
 * Nagle, window scaling, retransmission on the RFC 6298 timer with Karn and backoff, fast
 * retransmit and recovery through the pluggable congestion control (CUBIC by default), an
 * out-of-order queue, delayed ACKs, zero-window probing, the FIN states down to TIME_WAIT, and
 * RFC 5961's defences (a RST is taken only at exactly rcv.nxt, anything else in the window earns
 * a challenge ACK; so does a SYN on a synchronized connection). Runs on the event loop.
 *
 * <p>Also: timestamps (RFC 7323: RTT samples from TSecr, retransmissions included, and PAWS),
 * SACK (RFC 2018, with an RFC 6675-lite sender that retransmits one hole per ACK during recovery),
 * keepalive (RFC 1122 4.2.3.6, Linux's knobs), and connections made from SYN cookies.
 *
 * <p>Segments are accepted exactly by RFC 9293 3.10.7.4's table against the furthest right edge
 * offered, with the zero-window allowance for ACKs, windows and RSTs; replies to unacceptable
 * segments without data are rate-limited; nothing is sent or retransmitted past the peer's window,
 * and a zero window is probed, never sent into (see docs/rump-net.md, "Segment acceptance and
 * windows").
 *
 * <p>The send and receive sequence variables and the timers live in {@link SendSequence},
 * {@link ReceiveSequence} and {@link TcpTimers}, which keep their own invariants; this class holds
 * the state machine, the buffers and the options agreed.
 */
final class TcpConnection {
    enum State { CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING,
        LAST_ACK, TIME_WAIT }

    static final int DEFAULT_BUFFER = 256 * 1024;
    static final int MAX_RETRANSMISSIONS = 15;
    /** Linux's tcp_rmem[2]: how far autotuning may grow a receive buffer nobody sized with SO_RCVBUF. */
    static final int AUTOTUNE_MAX_BUFFER = 6 << 20;
    /** Linux's tcp_wmem[2]: how far a send buffer nobody sized with SO_SNDBUF grows with the window. */
    static final int AUTOTUNE_MAX_SEND_BUFFER = 4 << 20;
    static final int MAX_SYN_RETRANSMISSIONS = 6;
    static final int WINDOW_SCALE = 7;
    static final int TIMESTAMPS_LENGTH = 12; // NOP, NOP, kind 8 (RFC 7323 appendix A layout)
    /**
     * At most one ACK per this interval in reply to unacceptable segments that carry no data (pure
     * ACKs, probes, SYNs, in-window RSTs): Linux's {@code tcp_invalid_ratelimit}, 500 ms. Two stacks
     * that each find the other's ACKs unacceptable would otherwise answer each other at line rate.
     */
    static final long UNACCEPTABLE_ACK_INTERVAL_NANOS = 500_000_000L;
    /** RFC 7323 5.5: TS.Recent is invalid after 24 days idle. */
    static final long PAWS_IDLE_NANOS = 24L * 24 * 3600 * 1_000_000_000L;

    final Tcp tcp;
    final IpAddress localAddress;
    final int localPort;
    final IpAddress remoteAddress;
    final int remotePort;
    State state = State.CLOSED;
    final Readiness readiness = new Readiness();
    ErrnoException error;
    TcpListener listener; // the listener a passive open came from
    boolean listenerCounted; // still counted among the listener's embryonic connections
    final TcpSocketOptions options;

    // Send side: SND.UNA .. SND.NXT in flight, sendQueue holds bytes from SND.UNA on.
    final SendSequence snd = new SendSequence();
    int mss = 536;
    private final ByteQueue sendQueue;
    int sendBufferLimit;
    boolean finQueued; // the application closed its side
    private boolean orphaned; // the application closed its socket: nobody will read or write again
    boolean hasSocket; // a socket holds it (connect or accept): its receive queue lives until orphan()

    // Receive side.
    final ReceiveSequence rcv = new ReceiveSequence();
    private final ByteQueue receiveQueue;
    int receiveBufferLimit;
    private ReassemblyQueue outOfOrder;
    boolean finReceived;
    private int unackedSegments;
    // Receive-buffer autotuning (Linux's dynamic right-sizing, simplified).
    private long receiverRttNanos; // from the TSecr of arriving data, or 0
    private long autotuneStartNanos;
    private long autotuneCopied;

    // Timers and estimators.
    final TcpTimers timers;
    CongestionControl cc;
    long probesSent; // zero-window probes, over the connection's life
    long unacceptableAcks; // ACKs sent in reply to unacceptable segments (challenge ACKs included)
    long unacceptableAcksLimited; // replies the rate limit held back
    private long lastUnacceptableAckNanos;
    private boolean unacceptableAckSent;
    final java.util.TreeMap<String, Long> drops = new java.util.TreeMap<>(); // reason → segments dropped

    // Timestamps (RFC 7323).
    boolean tsOn;
    private int tsOffset;
    int tsRecent;
    long tsRecentNanos;

    // SACK (RFC 2018, RFC 6675-lite).
    boolean sackOn;
    private SackScoreboard scoreboard;
    private int highRxt; // RFC 6675 HighRxt: the end of the last hole retransmitted

    private java.util.concurrent.CompletableFuture<Void> lingering; // a close waiting under SO_LINGER

    TcpConnection(Tcp tcp, IpAddress localAddress, int localPort, IpAddress remoteAddress, int remotePort,
            TcpSocketOptions options) {
        this.tcp = tcp;
        this.options = options.copy();
        this.sendBufferLimit = options.sendBuffer;
        this.receiveBufferLimit = options.receiveBuffer;
        this.tsOffset = tcp.randomInt();
        this.localAddress = localAddress;
        this.localPort = localPort;
        this.remoteAddress = remoteAddress;
        this.remotePort = remotePort;
        this.sendQueue = new ByteQueue(tcp.alloc());
        this.receiveQueue = new ByteQueue(tcp.alloc());
        this.timers = new TcpTimers(tcp);
    }

    /** The algorithm this connection uses: its socket's TCP_CONGESTION, else the stack's default. */
    String congestionName() {
        return tcp.congestionFor(options);
    }

    /**
     * TCP_CONGESTION on a connection already open: the new algorithm takes over from the current
     * congestion window (Linux re-initialises the algorithm alike), with its own state afresh.
     */
    void congestionChanged() {
        if (cc != null && !cc.name().equals(congestionName())) {
            cc = CongestionControls.create(congestionName(), mss, Math.max(mss, cc.cwnd()));
        }
    }

    // ---- opening ---------------------------------------------------------------------------------

    /** An active open: SYN_SENT. */
    void connect(int isn) {
        snd.open(isn);
        state = State.SYN_SENT;
        sendSyn(false);
    }

    /** A passive open from a listener's SYN: SYN_RECEIVED, SYN-ACK sent. */
    void acceptSyn(TcpRepr syn, int isn) {
        rcv.open(syn.sequenceNumber());
        outOfOrder = newReassemblyQueue();
        peerOptions(syn);
        snd.open(isn);
        snd.window(syn.window()); // a SYN's window is never scaled
        state = State.SYN_RECEIVED;
        sendSyn(true);
    }

    private ReassemblyQueue newReassemblyQueue() {
        // Out-of-order bytes lie within the window offered, which autotuning may grow.
        return new ReassemblyQueue(rcv.nxt(), Math.max(receiveBufferLimit, autotuning() ? AUTOTUNE_MAX_BUFFER : 0), 64);
    }

    private boolean autotuning() {
        return !options.receiveBufferLocked;
    }

    private void peerOptions(TcpRepr syn) {
        int peerMss = syn.maxSegmentSize() > 0 ? syn.maxSegmentSize() : 536;
        // A SYN-ACK has the options only if our SYN had them, so the peer's say what both agreed.
        tsOn = syn.timestamps() != null && tcp.timestampsEnabled;
        if (tsOn) {
            tsRecent = syn.timestamps().value();
            tsRecentNanos = tcp.now();
        }
        sackOn = syn.sackPermitted() && tcp.sackEnabled;
        // RFC 7323 / Linux: the MSS counts the options every segment carries.
        mss = Math.max(64, Math.min(peerMss, tcp.mssFor(remoteAddress)) - (tsOn ? TIMESTAMPS_LENGTH : 0));
        if (syn.windowScale() >= 0) {
            snd.scale(Math.min(14, syn.windowScale()));
            rcv.scale(WINDOW_SCALE);
        } else {
            snd.scale(0);
            rcv.scale(0);
        }
    }

    private void sendSyn(boolean ack) {
        boolean ts = ack ? tsOn : tcp.timestampsEnabled;
        boolean sackPermitted = ack ? sackOn : tcp.sackEnabled;
        int synWindow = (int) Math.min(65535, receiveWindow()); // a SYN's window is never scaled
        rcv.synOffered(synWindow, ack);
        TcpRepr syn = new TcpRepr(localPort, remotePort, snd.iss(), ack ? rcv.nxt() : 0, SYN | (ack ? ACK : 0),
                synWindow, 0, tcp.mssFor(remoteAddress),
                ack ? (rcv.scale() > 0 ? WINDOW_SCALE : -1) : WINDOW_SCALE, sackPermitted,
                ts ? new TcpRepr.Timestamps(tsNow(), ack ? tsRecent : 0) : null, List.of(), Unpooled.EMPTY_BUFFER);
        if (ack) {
            rcv.ackSent();
        }
        snd.synSent();
        tcp.output(this, syn);
        armRetransmit();
    }

    // ---- input -----------------------------------------------------------------------------------

    /** A segment for this connection. */
    void input(TcpRepr seg) {
        switch (state) {
            case CLOSED -> { }
            case SYN_SENT -> synSentInput(seg);
            default -> synchronizedInput(seg);
        }
    }

    private void synSentInput(TcpRepr seg) {
        boolean ack = seg.hasFlags(ACK);
        if (ack && (SeqNum.le(seg.acknowledgmentNumber(), snd.iss())
                || SeqNum.gt(seg.acknowledgmentNumber(), snd.nxt()))) {
            if (!seg.hasFlags(RST)) {
                tcp.sendReset(this, seg.acknowledgmentNumber(), 0, false);
            }
            return;
        }
        if (seg.hasFlags(RST)) {
            if (ack) {
                fail(Errno.ECONNREFUSED);
            }
            return;
        }
        if (!seg.hasFlags(SYN)) {
            return;
        }
        rcv.open(seg.sequenceNumber());
        rcv.synWindowTaken(); // what our SYN offered
        outOfOrder = newReassemblyQueue();
        peerOptions(seg);
        if (ack) {
            snd.acknowledge(seg.acknowledgmentNumber());
            // RFC 7323 2.2: the window of a SYN-ACK is never scaled
            snd.updateWindow(seg.window(), seg.sequenceNumber(), seg.acknowledgmentNumber());
            established();
            sendAck();
        } else {
            // Simultaneous open: SYN_RECEIVED, and our SYN again with an ACK.
            state = State.SYN_RECEIVED;
            snd.window(seg.window());
            sendSyn(true);
        }
    }

    private void established() {
        state = State.ESTABLISHED;
        timers.handshakeCompleted();
        cc = CongestionControls.create(congestionName(), mss, AbstractCongestionControl.initialWindow(mss));
        scoreboard = sackOn ? new SackScoreboard(snd.una()) : null;
        highRxt = snd.una();
        timers.idleFrom(tcp.now());
        armKeepalive();
        readiness.add(Readiness.POLLOUT);
        tcp.established(this);
    }

    /**
     * A connection from a SYN cookie (RFC 4987 3.6): the handshake's last ACK {@code seg} carried a
     * valid cookie; nothing was kept from the SYN, so no window scaling, SACK or timestamps, and the
     * MSS is the one the cookie encodes.
     */
    void acceptCookie(TcpRepr seg, int cookieMss) {
        rcv.openFromCookie(seg.sequenceNumber(), Tcp.cookieWindow(options)); // what the cookie's SYN-ACK offered
        outOfOrder = newReassemblyQueue();
        snd.openFromCookie(seg.acknowledgmentNumber());
        snd.scale(0);
        rcv.scale(0);
        tsOn = false;
        sackOn = false;
        mss = Math.max(64, Math.min(cookieMss, tcp.mssFor(remoteAddress)));
        snd.updateWindow(seg.window(), seg.sequenceNumber(), seg.acknowledgmentNumber());
        rcv.ackSent();
        established();
        if (state == State.ESTABLISHED && (seg.payload().readableBytes() > 0 || seg.hasFlags(FIN))) {
            synchronizedInput(seg);
        }
    }

    private void synchronizedInput(TcpRepr seg) {
        int payload = seg.payload().readableBytes();
        int len = payload + (seg.hasFlags(SYN) ? 1 : 0) + (seg.hasFlags(FIN) ? 1 : 0);
        TcpRepr.Timestamps ts = seg.timestamps();
        if (tsOn && !seg.hasFlags(RST)) {
            if (ts == null) {
                drop("no_timestamp"); // RFC 7323 3.2: silently dropped
                return;
            }
            if (SeqNum.lt(ts.value(), tsRecent)) {
                // RFC 7323 5.5, simplified: TS.Recent older than 24 days counts as invalid, and is taken afresh
                // from this segment instead of rejecting it (no separate idle check of the connection).
                if (tcp.now() - tsRecentNanos > PAWS_IDLE_NANOS) {
                    tsRecent = ts.value();
                    tsRecentNanos = tcp.now();
                } else {
                    replyToUnacceptable(seg, "paws"); // RFC 7323 5.3 R1: not acceptable; ACK it
                    return;
                }
            }
        }
        // RFC 9293 3.10.7.4: "If the RCV.WND is zero, no segments will be acceptable, but special
        // allowance should be made to accept valid ACKs, URGs, and RSTs". So a segment the table
        // refuses is still processed for a valid ACK (RFC 5961's range) and its window, and for a RST
        // at exactly RCV.NXT; its text is not taken. Not only at RCV.NXT: a peer whose view of SND.UNA
        // is stale sends its ACKs under other sequence numbers, and a receiver that drops them all
        // never learns that its own data arrived (the deadlock the soak found with that narrower rule).
        boolean zeroWindow = false;
        if (!rcv.acceptable(seg.sequenceNumber(), len)) {
            if (rcv.wnd() == 0 && !seg.hasFlags(SYN)) {
                zeroWindow = true;
            } else {
                replyToUnacceptable(seg, "out_of_window"); // RFC 9293: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
                return;
            }
        }
        timers.heard(tcp.now());
        if (tsOn && ts != null && SeqNum.le(seg.sequenceNumber(), rcv.lastAckSent())
                && SeqNum.ge(ts.value(), tsRecent)) {
            tsRecent = ts.value(); // RFC 7323 4.3
            tsRecentNanos = tcp.now();
        }
        if (seg.hasFlags(RST)) {
            if (seg.sequenceNumber() != rcv.nxt()) {
                tcp.count("tcp.challenge_ack");
                replyToUnacceptable(seg, "rst_in_window"); // RFC 5961 3.2: a challenge ACK; the RST is not believed
                return;
            }
            tcp.count("tcp.in.reset");
            fail(state == State.SYN_RECEIVED && listener != null ? null : Errno.ECONNRESET);
            return;
        }
        if (seg.hasFlags(SYN)) {
            if (state == State.SYN_RECEIVED && seg.sequenceNumber() == rcv.irs()) {
                sendSyn(true); // our SYN-ACK was lost: the peer sent its SYN again
                return;
            }
            tcp.count("tcp.challenge_ack");
            replyToUnacceptable(seg, "syn_synchronized"); // RFC 5961 4.2: a SYN on a synchronized connection
            return;
        }
        if (!seg.hasFlags(ACK)) {
            return;
        }
        if (state == State.SYN_RECEIVED) {
            if (SeqNum.le(seg.acknowledgmentNumber(), snd.iss()) || SeqNum.gt(seg.acknowledgmentNumber(), snd.nxt())) {
                tcp.sendReset(this, seg.acknowledgmentNumber(), 0, false);
                return;
            }
            snd.acknowledge(snd.iss() + 1); // the ACK of our SYN: its sequence number is not data
            snd.updateWindow((long) seg.window() << snd.scale(), seg.sequenceNumber(), seg.acknowledgmentNumber());
            established();
        }
        if (!ackInput(seg) || state == State.CLOSED) {
            return;
        }
        boolean bareFinAtRcvNxt = seg.hasFlags(FIN) && payload == 0 && seg.sequenceNumber() == rcv.nxt();
        if (zeroWindow && payload > 0) {
            drop("zero_window"); // the ACK was taken above; the text waits for the window to open
            sendAck();
        } else if (zeroWindow && !bareFinAtRcvNxt) {
            replyToUnacceptable(seg, "zero_window"); // its ACK taken, its sequence number still refused
        } else if (payload > 0) {
            dataInput(seg);
        }
        // A FIN is taken where it falls at RCV.NXT after the text. A bare FIN is taken at a zero
        // window too, as Linux does: it needs no buffer space, and refusing it would only hold the
        // close back until the sender's retransmission timer, backed off, fires again.
        if (seg.hasFlags(FIN) && !finReceived && (!zeroWindow || bareFinAtRcvNxt)
                && SeqNum.add(seg.sequenceNumber(), payload) == rcv.nxt()) {
            finInput();
        }
        trySend();
    }

    /**
     * The reply RFC 9293 asks for to an unacceptable segment — an ACK, unless the segment is a RST —
     * and, per RFC 5961 7, at most one per {@link #UNACCEPTABLE_ACK_INTERVAL_NANOS} for segments that
     * carry no data or carry a SYN: those are what two stacks could otherwise bounce between them for
     * ever. A data segment is always answered: its sender needs to learn RCV.NXT.
     */
    private void replyToUnacceptable(TcpRepr seg, String reason) {
        drop(reason);
        if (seg.hasFlags(RST)) {
            return;
        }
        boolean mayLoop = seg.payload().readableBytes() == 0 && !seg.hasFlags(FIN) || seg.hasFlags(SYN);
        long now = tcp.now();
        if (mayLoop && unacceptableAckSent && now - lastUnacceptableAckNanos < UNACCEPTABLE_ACK_INTERVAL_NANOS) {
            unacceptableAcksLimited++;
            tcp.count("tcp.out.unacceptable_ack_limited");
            return;
        }
        if (mayLoop) {
            unacceptableAckSent = true;
            lastUnacceptableAckNanos = now;
        }
        unacceptableAcks++;
        tcp.count("tcp.out.unacceptable_ack");
        sendAck();
    }

    /** Counts a dropped segment (or the dropped part of one) by reason, for the stack and the connection. */
    private void drop(String reason) {
        tcp.count("tcp.drop." + reason);
        drops.merge(reason, 1L, Long::sum);
    }

    /**
     * The ACK field (RFC 9293 3.10.7.4, fifth check) and the window. Returns false when the segment
     * is to be dropped: it acknowledges what was never sent, or lies further below SND.UNA than
     * any window the peer has offered (RFC 5961 5.2); each earns an ACK (rate-limited).
     */
    private boolean ackInput(TcpRepr seg) {
        int ack = seg.acknowledgmentNumber();
        if (snd.acksUnsent(ack)) {
            replyToUnacceptable(seg, "ack_unsent");
            return false;
        }
        if (snd.ackTooOld(ack)) {
            replyToUnacceptable(seg, "ack_too_old");
            return false;
        }
        long window = (long) seg.window() << snd.scale();
        timers.peerAnswered();
        boolean old = SeqNum.lt(ack, snd.una());
        boolean advanced = SeqNum.gt(ack, snd.una());
        if (advanced) {
            int acked = SeqNum.diff(ack, snd.una());
            boolean finAcked = snd.finAcked(ack);
            long dataAcked = acked - (finAcked ? 1 : 0);
            sendQueue.drop(dataAcked);
            TcpRepr.Timestamps ts = seg.timestamps();
            if (tsOn && ts != null && ts.echoReply() != 0) {
                // RFC 7323 4.1: a sample from TSecr, valid even for retransmitted data (no Karn needed).
                long ms = SeqNum.diff(tsNow(), ts.echoReply());
                if (ms >= 0 && ms < 1L << 30) {
                    timers.rtt().onSample(Math.max(1, ms) * 1_000_000L, false);
                    if (timers.retransmittedSinceAck()) {
                        tcp.count("tcp.rtt.timestamp_sample_after_retransmission");
                    }
                }
                timers.stopTiming();
            } else if (timers.timedSegmentAcked(ack)) {
                timers.sampleTimedSegment(tcp.now());
            }
            timers.acked();
            snd.acknowledge(ack);
            if (scoreboard != null) {
                scoreboard.advance(ack);
                onSackBlocks(seg);
            }
            timers.progress();
            boolean partial = cc != null && dataAcked > 0
                    && cc.onAck(ack, dataAcked, timers.rtt().srttNanos(), tcp.now(), inFlight());
            expandSendBuffer();
            if (partial) {
                retransmitNextHole(); // RFC 6582 / 6675: the next hole, not only the first segment
            }
            if (snd.allAcknowledged()) {
                timers.stopRetransmit();
            } else {
                armRetransmit();
            }
            if (finAcked) {
                finAcked();
            }
            readiness.add(sendSpace() > 0 ? Readiness.POLLOUT : 0);
        } else if (ack == snd.una() && seg.payload().readableBytes() == 0 && !seg.hasFlags(FIN) && window == snd.wnd()
                && !snd.allAcknowledged() && cc != null) {
            tcp.count("tcp.in.dup_ack");
            onSackBlocks(seg);
            boolean wasInRecovery = cc.inRecovery();
            if (cc.onDupAck(ack, snd.max(), inFlight(), tcp.now())) {
                tcp.count("tcp.fast_retransmit");
                highRxt = snd.una();
                retransmitNextHole();
            } else if (wasInRecovery && scoreboard != null) {
                retransmitNextHole(); // RFC 6675-lite: one more hole for each ACK during recovery
            }
        } else {
            onSackBlocks(seg);
        }
        // RFC 9293: if SND.UNA =< SEG.ACK =< SND.NXT, update the window when SND.WL1 < SEG.SEQ, or
        // SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK. Also whenever the ACK moved SND.UNA, as Linux's
        // tcp_may_update_window does: the usable window is SND.UNA + SND.WND - SND.NXT, so a window
        // left stale while SND.UNA advances moves the right edge past what the peer offered — and
        // a peer that went back after a timeout sends current ACKs under older sequence numbers.
        if (!old && (advanced || snd.newerWindow(seg.sequenceNumber(), ack))) {
            snd.updateWindow(window, seg.sequenceNumber(), ack);
        }
        return true;
    }

    private void onSackBlocks(TcpRepr seg) {
        if (scoreboard == null || seg.sackBlocks().isEmpty()) {
            return;
        }
        scoreboard.onSack(seg.sackBlocks(), snd.max());
    }

    private void finAcked() {
        endLinger();
        switch (state) {
            case FIN_WAIT_1 -> {
                state = State.FIN_WAIT_2;
                armOrphanTimeout();
            }
            case CLOSING -> timeWait();
            case LAST_ACK -> closed();
            default -> { }
        }
    }

    private void dataInput(TcpRepr seg) {
        ByteBuf p = seg.payload();
        int len = p.readableBytes();
        if (len == 0 || finReceived) {
            return;
        }
        if (tsOn && seg.timestamps() != null && seg.timestamps().echoReply() != 0) {
            long ms = SeqNum.diff(tsNow(), seg.timestamps().echoReply());
            if (ms >= 0 && ms < 1L << 30) {
                receiverRttNanos = Math.max(1, ms) * 1_000_000L; // RFC 7323 4.2's receiver-side RTT
            }
        }
        int seq = seg.sequenceNumber();
        // Keep only what fits the window we offered: up to rcv.nxt + rcv.wnd.
        long windowEnd = rcv.wnd() - SeqNum.diff(seq, rcv.nxt());
        int keep = (int) Math.max(0, Math.min(len, windowEnd));
        boolean inOrder = SeqNum.le(seq, rcv.nxt());
        int old = outOfOrder.takeInOrder(seq, keep);
        if (old >= 0) {
            // Nothing held out of order and this segment starts at RCV.NXT: its new bytes go
            // straight from the frame into the receive queue, the one copy on the way in.
            deliver(p, p.readerIndex() + old, keep - old);
            rcv.advanceTo(outOfOrder.rcvNxt());
        } else {
            byte[] data = new byte[keep];
            p.getBytes(p.readerIndex(), data);
            byte[] ready = outOfOrder.offer(seq, data);
            if (ready.length > 0) {
                deliver(io.netty.buffer.Unpooled.wrappedBuffer(ready), 0, ready.length);
                rcv.advanceTo(outOfOrder.rcvNxt());
            }
        }
        if (!inOrder || !outOfOrder.isEmpty()) {
            tcp.count("tcp.in.out_of_order");
            sendAck(); // a duplicate ACK tells the sender of the hole at once
        } else if ((unackedSegments += len > mss ? 2 : 1) >= 2) {
            // A segment of more than one MSS (the sender's TSO, taken whole) counts as the
            // several it stands for, and is ACKed at once, as Linux's receiver does.
            sendAck();
        } else {
            timers.delayAck(this::sendAck);
        }
    }

    private void deliver(ByteBuf data, int index, int length) {
        if (length == 0) {
            return;
        }
        receiveQueue.append(data, index, length);
        if (received() >= lowWater()) {
            readiness.add(Readiness.POLLIN);
        }
    }

    /** SO_RCVLOWAT, kept below half the receive buffer so that the window can always reach it. */
    int lowWater() {
        return (int) Math.max(1, Math.min(options.receiveLowWater, receiveBufferLimit / 2));
    }

    /** Readable: the low-water mark reached, the end of the stream, or an error. */
    void updateReadable() {
        if (received() >= lowWater() || finReceived || error != null) {
            readiness.add(Readiness.POLLIN);
        } else {
            readiness.remove(Readiness.POLLIN);
        }
    }

    private void finInput() {
        finReceived = true;
        rcv.finTaken();
        sendAck();
        readiness.add(Readiness.POLLIN | Readiness.POLLRDHUP); // readable: recv returns 0 at the end
        switch (state) {
            case SYN_RECEIVED, ESTABLISHED -> state = State.CLOSE_WAIT;
            case FIN_WAIT_1 -> state = State.CLOSING; // our FIN is not acknowledged yet, or we would be in FIN_WAIT_2
            case FIN_WAIT_2 -> timeWait();
            default -> { }
        }
    }

    private void timeWait() {
        state = State.TIME_WAIT;
        timers.stopRetransmit();
        timers.armTimeWait(this::closed);
    }

    // ---- the application's side ----------------------------------------------------------------

    /**
     * The window to offer: the buffer less what waits for the application. Out-of-order bytes are not
     * subtracted: they lie inside the window already offered, and subtracting them shrank the window
     * with every one, which changed the window of the duplicate ACKs and kept fast retransmit (RFC 5681
     * counts only ACKs with an unchanged window) from ever starting.
     */
    long receiveWindow() {
        return Math.max(0, receiveBufferLimit - received());
    }

    /**
     * Send-buffer autotuning, as Linux's tcp_sndbuf_expand: room for twice the congestion window,
     * so that a window's worth can be in flight while the application fills the next. Without it a
     * fixed buffer, not the path, bounds the throughput of a long fat pipe. Never shrinks; off once
     * SO_SNDBUF is set.
     */
    private void expandSendBuffer() {
        if (options.sendBufferLocked || cc == null) {
            return;
        }
        long want = Math.min(AUTOTUNE_MAX_SEND_BUFFER, 2 * cc.cwnd());
        if (want > sendBufferLimit) {
            sendBufferLimit = (int) want;
        }
    }

    /** Bytes in the send queue: from SND.UNA on, not yet acknowledged. */
    long sendQueued() {
        return sendQueue.size();
    }

    /** Bytes received and waiting for the application. */
    long received() {
        return receiveQueue.size();
    }

    long sendSpace() {
        return sendBufferLimit - sendQueued();
    }

    /** Queues bytes to send, copied from {@code src} (its position advances); returns how many fitted. */
    int write(ByteBuffer src) {
        int n = (int) Math.max(0, Math.min(src.remaining(), sendSpace())); // SO_SNDBUF may have shrunk below what is queued
        if (n > 0) {
            sendQueue.append(src, n);
            trySend();
        }
        updateWritable();
        return n;
    }

    /**
     * Queues what fits of {@code data}; its reader index advances past what was taken, and the
     * caller keeps its reference. Taken without a copy, as a retained slice, when the caller's
     * reference is the only one: then nobody can change the bytes while they wait for their ACK.
     * A buffer someone else also holds (a retained one, say, that its owner may reuse once the
     * write completes) is copied.
     */
    int write(ByteBuf data) {
        int n = (int) Math.max(0, Math.min(data.readableBytes(), sendSpace()));
        if (n > 0) {
            if (data.refCnt() == 1) {
                sendQueue.appendOwned(data.readRetainedSlice(n));
            } else {
                sendQueue.append(data, data.readerIndex(), n);
                data.skipBytes(n);
            }
            trySend();
        }
        updateWritable();
        return n;
    }

    private void updateWritable() {
        if (sendSpace() <= 0) {
            readiness.remove(Readiness.POLLOUT);
        }
    }

    /** Takes up to {@code dst.remaining()} received bytes into {@code dst}; 0 means none (check finReceived for the end). */
    int read(ByteBuffer dst) {
        int n = receiveQueue.read(dst);
        afterRead(n);
        return n;
    }

    /** Takes up to {@code max} received bytes as a buffer the caller owns, without copying. */
    ByteBuf readRetained(int max) {
        ByteBuf out = receiveQueue.readRetained(max);
        afterRead(out.readableBytes());
        return out;
    }

    private void afterRead(int n) {
        if (received() < lowWater() && !finReceived && error == null) {
            readiness.remove(Readiness.POLLIN);
        }
        if (n > 0 && autotuning()) {
            autotune(n);
        }
        if (n > 0 && windowUpdateDue()) {
            sendAck();
        }
    }

    /**
     * The kernel halts: the connection fails with {@code ENETDOWN} (no RST: the NICs are going),
     * its waiters wake, and its queues go back to the pool, so that no later call fills them again.
     */
    void halt() {
        timers.stopAll();
        if (error == null) {
            error = new ErrnoException(Errno.ENETDOWN, "the kernel halted");
        }
        closed();
        releaseBuffers();
        readiness.add(Readiness.POLLERR | Readiness.POLLHUP | Readiness.POLLIN);
    }

    /** Gives the queues' pooled buffers back: the socket is closed and nobody reads or writes again. */
    void releaseBuffers() {
        sendQueue.release();
        receiveQueue.release();
    }

    /**
     * Whether reading opened the window enough to tell the peer now, judged against the right edge
     * last advertised (not against what this read freed, which autotuning can outgrow): when the
     * peer has half the buffer or less left to send into and the window now on offer is at least
     * twice that and larger by a useful amount (RFC 1122 4.2.3.3's receiver-side SWS avoidance:
     * one MSS, or half a small buffer). Linux's tcp_cleanup_rbuf decides the same way.
     */
    private boolean windowUpdateDue() {
        if (state != State.ESTABLISHED && state != State.FIN_WAIT_1 && state != State.FIN_WAIT_2) {
            return false; // nothing more will arrive once the peer has sent its FIN
        }
        long offered = rcv.wnd();
        long now = (long) advertisedWindow() << rcv.scale();
        long useful = usefulWindowGrowth();
        return 2 * offered <= receiveBufferLimit && now >= 2 * offered && now - offered >= useful;
    }

    /**
     * Receive-buffer autotuning as Linux's tcp_rcv_space_adjust does it, simplified: once per receiver
     * RTT, if the application read more than half the buffer in that RTT, the buffer grows to twice
     * what it read (never past {@link #AUTOTUNE_MAX_BUFFER}, never shrinking). Off once SO_RCVBUF is set,
     * and without an RTT estimate (no timestamps and nothing sent yet).
     */
    private void autotune(int n) {
        RttEstimator rtt = timers.rtt();
        long rttNanos = receiverRttNanos > 0 ? receiverRttNanos : rtt.hasSample() ? rtt.srttNanos() : 0;
        if (rttNanos <= 0) {
            return;
        }
        long now = tcp.now();
        if (autotuneStartNanos == 0) {
            autotuneStartNanos = now;
        }
        autotuneCopied += n;
        if (now - autotuneStartNanos < rttNanos) {
            return;
        }
        long want = Math.min(AUTOTUNE_MAX_BUFFER, 2 * autotuneCopied);
        if (want > receiveBufferLimit) {
            receiveBufferLimit = (int) want;
            tcp.count("tcp.rcvbuf.autotuned");
        }
        autotuneStartNanos = now;
        autotuneCopied = 0;
    }

    /** shutdown(SHUT_WR) / close: a FIN after the queued data. */
    void closeSending() {
        if (finQueued) {
            return;
        }
        finQueued = true;
        switch (state) {
            case ESTABLISHED, SYN_RECEIVED -> state = State.FIN_WAIT_1;
            case CLOSE_WAIT -> state = State.LAST_ACK;
            case SYN_SENT, LISTEN -> {
                closed();
                return;
            }
            default -> { }
        }
        trySend();
    }

    /**
     * SO_LINGER with a positive time: completes once everything sent, FIN included, is acknowledged,
     * or when {@code nanos} have passed (the close then returns and the connection carries on).
     */
    java.util.concurrent.CompletableFuture<Void> lingerUntilSent(long nanos) {
        if (state == State.CLOSED || state == State.FIN_WAIT_2 || state == State.TIME_WAIT
                || snd.finSent() && SeqNum.gt(snd.una(), snd.finSeq())) {
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }
        if (lingering == null) {
            lingering = new java.util.concurrent.CompletableFuture<>();
            timers.armLinger(nanos, this::endLinger);
        }
        return lingering;
    }

    private void endLinger() {
        timers.stopLinger();
        if (lingering != null) {
            java.util.concurrent.CompletableFuture<Void> f = lingering;
            lingering = null;
            f.complete(null);
        }
    }

    /**
     * close(2) on the socket: the application is gone. A connection then left in FIN_WAIT_2 waits
     * for the peer's FIN only {@link #FIN_WAIT_2_ORPHAN_NANOS}, as Linux's tcp_fin_timeout: a peer
     * that vanished (its RST lost, or it crashed) would otherwise hold it for ever, no timer armed.
     */
    void orphan() {
        orphaned = true;
        receiveQueue.release(); // nobody reads any more; the send queue goes when the connection closes
        armOrphanTimeout();
    }

    private void armOrphanTimeout() {
        if (orphaned && state == State.FIN_WAIT_2) {
            timers.armFinWait2(() -> {
                tcp.count("tcp.fin_wait_2.timeout");
                closed();
            });
        }
    }

    /** SO_LINGER with a zero timeout, or close with unread data: RST, and gone. */
    void abort() {
        if (state != State.CLOSED && state != State.SYN_SENT && state != State.TIME_WAIT) {
            tcp.sendReset(this, ackSeq(), 0, false); // at SND.NXT, where the peer's window takes it
        }
        closed();
    }

    // ---- output ---------------------------------------------------------------------------------

    long inFlight() {
        return snd.inFlight();
    }

    /**
     * Sends what the windows allow: full segments, a last small one when Nagle lets it, then a FIN.
     * When the interface segments TCP (TSO), one segment may carry many MSS of data, which the NIC
     * cuts into MSS-sized ones; such a segment never holds more than the windows allow, and a small
     * tail only where one small segment would have been sent on its own.
     */
    void trySend() {
        if (state != State.ESTABLISHED && state != State.CLOSE_WAIT && state != State.FIN_WAIT_1
                && state != State.LAST_ACK && state != State.CLOSING) {
            return;
        }
        int limit = tcp.segmentLimit(remoteAddress, mss);
        while (true) {
            if (scoreboard != null && SeqNum.lt(snd.nxt(), snd.max()) && scoreboard.isSacked(snd.nxt())) {
                SackBlock hole = scoreboard.nextHole(snd.nxt());
                snd.skipTo(hole != null ? hole.left() : scoreboard.highSacked());
                continue;
            }
            long unsent = sendQueued() - SeqNum.diff(snd.nxt(), snd.una())
                    + (snd.finSent() && SeqNum.gt(snd.nxt(), snd.finSeq()) ? 1 : 0);
            long window = Math.min(snd.wnd(), cc.cwnd());
            long room = window - inFlight();
            if (unsent <= 0) {
                break;
            }
            if (room <= 0) {
                armPersistIfIdle();
                break;
            }
            int n = (int) Math.min(Math.min(unsent, limit), room);
            if (n > mss && n % mss != 0 && !(n == unsent && options.noDelay)) {
                // The tail would be a small segment sent while the rest is in flight: Nagle (or
                // the window) holds it back, as the MSS-at-a-time loop would.
                n -= n % mss;
            }
            if (n < mss && n < unsent && n < snd.maxWnd() / 2) {
                // RFC 1122 4.2.3.4: wait for a fuller window (silly window syndrome), with the persist
                // timer as the override should no ACK come to open it.
                armPersistIfIdle();
                break;
            }
            if (n < mss && !options.noDelay && inFlight() > 0) {
                break; // Nagle: a small segment only when nothing is in flight
            }
            sendData(snd.nxt(), n, false);
            snd.sent(n);
        }
        if (finQueued && (!snd.finSent() || snd.nxt() == snd.finSeq())
                && sendQueued() == SeqNum.diff(snd.nxt(), snd.una())) {
            snd.finAt();
            sendFin();
            snd.sent(1);
        }
    }

    private void sendFin() {
        tcp.output(this, segment(snd.finSeq(), FIN | ACK, Unpooled.EMPTY_BUFFER));
        armRetransmit();
    }

    /** Sends {@code len} bytes from sequence {@code seq} (which must be in the send queue). */
    private void sendData(int seq, int len, boolean retransmission) { // len > mss: a TSO segment
        retransmission |= SeqNum.lt(seq, snd.max()); // go-back after a timeout resends through trySend
        int offset = SeqNum.diff(seq, snd.una());
        int copied = len;
        // The payload is a view of the queued bytes, copied once, into the frame, as the segment
        // is emitted (Tcp.send).
        ByteBuf payload = sendQueue.view(offset, len);
        int flags = ACK | (SeqNum.add(seq, len) == SeqNum.add(snd.una(), (int) sendQueued()) ? PSH : 0);
        TcpRepr seg = segment(seq, flags, payload);
        if (!retransmission && !timers.timing()) {
            timers.startTiming(SeqNum.add(seq, len), tcp.now());
        }
        if (!retransmission) {
            tcp.dataSegmentsOut.incrementAndGet();
        } else {
            tcp.count("tcp.out.retransmitted");
            tcp.add("tcp.out.retransmitted_bytes", copied);
            timers.retransmitted();
        }
        unackedSegments = 0;
        timers.stopDelayedAck();
        timers.windowLetDataOut();
        tcp.output(this, seg, mss);
        if (!timers.retransmitPending()) {
            armRetransmit();
        }
    }

    /**
     * The window field to send. The right edge stays where it was offered (RFC 9293 3.8.6.2.2: a
     * receiver SHOULD NOT shrink the window) and moves right only by a useful amount, at least one
     * MSS or half the buffer if that is less (receiver-side SWS avoidance, RFC 1122 4.2.3.3).
     *
     * <p>With window scaling the field counts units of 2^shift bytes, so an edge that is not on a
     * unit from RCV.NXT can only be shown rounded: rounded down, the field retracts it by less than
     * a unit, and the receiver still takes data up to the edge it offered before — RFC 7323
     * appendix F, and what {@link ReceiveSequence#wnd()} judges by. (Rounding up instead keeps the
     * field from ever retracting, but each segment then pushes the edge up to a unit past the buffer:
     * a peer sending tiny segments could open the window without bound. Before, the rounded-down
     * field was also taken as the new edge, so up to 127 bytes already sent into the old one were
     * cut off and had to be retransmitted.)
     */
    int advertisedWindow() {
        return rcv.windowField(receiveWindow(), usefulWindowGrowth());
    }

    /** How much more window is worth offering: one MSS, or half a buffer smaller than two. */
    private long usefulWindowGrowth() {
        return Math.min(mss, Math.max(1, receiveBufferLimit / 2));
    }

    void sendAck() {
        timers.stopDelayedAck();
        unackedSegments = 0;
        if (state == State.CLOSED || state == State.SYN_SENT) {
            return;
        }
        tcp.output(this, segment(ackSeq(), ACK, Unpooled.EMPTY_BUFFER));
    }

    /**
     * The sequence number of a segment without data: RFC 9293's SND.NXT, which its model never
     * winds back — the highest sequence number sent (FreeBSD's snd_max for a pure ACK). Going back
     * after a timeout rewinds SND.NXT, and an ACK under that older number lies below the peer's
     * window, so the peer would drop it unread. Never anything lower either (an earlier version
     * sent SND.UNA while the peer's window was zero): a peer takes a window update only from a
     * segment whose sequence number is not below the last one it took a window from (SND.WL1), so
     * an ACK that goes back in sequence can never reopen that peer's view of our window — a soak
     * deadlocked on exactly that. A peer whose window is zero takes the ACK whatever its sequence
     * number (RFC 9293's allowance for valid ACKs; {@link #synchronizedInput}).
     */
    int ackSeq() {
        return snd.max();
    }

    /** The 1 ms timestamp clock (RFC 7323 5.4), offset at random per connection. */
    int tsNow() {
        return (int) (tcp.now() / 1_000_000L) + tsOffset;
    }

    /**
     * A segment of this connection with the options it carries: timestamps when agreed, and SACK
     * blocks (3 with timestamps, else 4) on segments without data when bytes wait out of order.
     * Data segments carry no SACK blocks, so their options never exceed what the MSS allows for.
     */
    private TcpRepr segment(int seq, int flags, io.netty.buffer.ByteBuf payload) {
        TcpRepr.Timestamps ts = tsOn ? new TcpRepr.Timestamps(tsNow(), tsRecent) : null;
        List<SackBlock> sack = List.of();
        if (sackOn && payload.readableBytes() == 0 && outOfOrder != null && !outOfOrder.isEmpty()) {
            sack = outOfOrder.sackBlocks(tsOn ? 3 : 4);
        }
        if ((flags & ACK) != 0) {
            rcv.ackSent();
        }
        int window = advertisedWindow();
        rcv.advertised(window);
        return new TcpRepr(localPort, remotePort, seq, rcv.nxt(), flags, window, 0, -1, -1, false, ts, sack, payload);
    }

    /**
     * RFC 6675-lite: retransmits the first segment of the next hole above HighRxt that the scoreboard
     * shows (or the first unacknowledged segment, without SACK information).
     */
    private void retransmitNextHole() {
        if (scoreboard == null) {
            retransmitFirst();
            return;
        }
        int from = SeqNum.max(highRxt, snd.una());
        SackBlock hole = scoreboard.nextHole(from);
        if (hole == null) {
            if (SeqNum.le(highRxt, snd.una())) {
                retransmitFirst();
            }
            return;
        }
        if (snd.finSent() && hole.left() == snd.finSeq()) {
            sendFin();
            highRxt = snd.finSeq() + 1;
            return;
        }
        long queuedAfter = sendQueued() - SeqNum.diff(hole.left(), snd.una());
        int n = snd.withinWindow(hole.left(), (int) Math.min(Math.min(mss, hole.length()), queuedAfter));
        if (n <= 0) {
            return;
        }
        tcp.count("tcp.sack.hole_retransmit");
        sendData(hole.left(), n, true);
        highRxt = SeqNum.add(hole.left(), n);
    }

    /**
     * An IPv6 Packet Too Big lowered the path MTU toward the peer (RFC 8201 §5.4): segments shrink
     * to fit it, and the first unacknowledged one goes again at once (the larger ones sent were
     * dropped on the way), as Linux's tcp_mtu_reduced does.
     */
    void pathMtuLowered(int pathMtu) {
        int fits = Math.max(64, pathMtu - 60 - (tsOn ? TIMESTAMPS_LENGTH : 0));
        if (fits >= mss) {
            return;
        }
        mss = fits;
        tcp.count("tcp.pmtu.mss_lowered");
        if (state == State.ESTABLISHED || state == State.CLOSE_WAIT || state == State.FIN_WAIT_1
                || state == State.CLOSING || state == State.LAST_ACK) {
            retransmitFirst();
        }
    }

    private void retransmitFirst() {
        if (snd.allAcknowledged()) {
            return;
        }
        if (snd.finSent() && snd.una() == snd.finSeq()) {
            sendFin();
            snd.retransmittedTo(snd.finSeq() + 1);
            return;
        }
        long unacked = Math.min(sendQueued(), SeqNum.diff(snd.max(), snd.una()));
        int n = snd.withinWindow(snd.una(), (int) Math.min(mss, unacked));
        if (n > 0) {
            sendData(snd.una(), n, true);
            int end = SeqNum.add(snd.una(), n);
            highRxt = SeqNum.max(highRxt, end);
            snd.retransmittedTo(end);
        }
    }

    private void armRetransmit() {
        timers.armRetransmit(this::retransmitTimeout);
    }

    // ---- the persist timer ----------------------------------------------------------------------

    /**
     * Arms the persist timer when data waits for window and nothing is in flight: then no ACK is
     * coming that could open the window, and a lost window update would stall the connection.
     */
    private void armPersistIfIdle() {
        if (inFlight() == 0) {
            timers.armPersist(this::persistTimeout);
        }
    }

    /**
     * The persist timer fired (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17). With a zero window: a probe
     * that takes no sequence space, an ACK at snd.una - 1, which the peer must answer with its
     * current window (as Linux's tcp_xmit_probe_skb does). With a window too small to be worth a
     * segment: the sender-side SWS override, a segment of what fits. A peer that answers probes
     * keeps the connection for as long as its window stays shut; one that answers nothing for
     * {@link #MAX_RETRANSMISSIONS} probes fails it with ETIMEDOUT.
     */
    private void persistTimeout() {
        if (state == State.CLOSED || state == State.TIME_WAIT || inFlight() > 0) {
            return; // data in flight: the retransmission timer watches the peer
        }
        if (timers.persistProbeUnanswered() > MAX_RETRANSMISSIONS) {
            tcp.count("tcp.timeout");
            fail(Errno.ETIMEDOUT);
            tcp.sendReset(this, ackSeq(), 0, false); // SND.MAX, as abort(): SND.NXT may have gone back
            return;
        }
        long unsent = sendQueued() - SeqNum.diff(snd.nxt(), snd.una());
        long room = Math.min(snd.wnd(), unsent);
        if (room > 0) {
            tcp.count("tcp.persist.sws_override");
            int n = (int) Math.min(room, mss);
            sendData(snd.nxt(), n, false);
            snd.sent(n);
            return;
        }
        sendProbe();
        armPersistIfIdle();
    }

    /**
     * A zero-window probe: an ACK at SND.UNA - 1, which takes no sequence space, so it can never
     * leave data beyond the window or wedge a receiver, and which the peer must answer with an ACK
     * carrying its current window (RFC 9293 3.10.7.4: an unacceptable segment is answered).
     */
    private void sendProbe() {
        tcp.count("tcp.persist.probe");
        probesSent++;
        timers.probeSent();
        tcp.output(this, segment(SeqNum.add(snd.una(), -1), ACK, Unpooled.EMPTY_BUFFER));
    }

    /** The retransmission timer fired. */
    private void retransmitTimeout() {
        if (state == State.CLOSED || state == State.TIME_WAIT) {
            return;
        }
        int limit = state == State.SYN_SENT || state == State.SYN_RECEIVED ? MAX_SYN_RETRANSMISSIONS : MAX_RETRANSMISSIONS;
        if (snd.wnd() == 0 && sendQueued() > 0 && cc != null) {
            zeroWindowUnderData();
            return;
        }
        if (timers.retransmissionTimedOut() > limit) {
            tcp.count("tcp.timeout");
            fail(Errno.ETIMEDOUT);
            tcp.sendReset(this, ackSeq(), 0, false); // SND.MAX, as abort(): SND.NXT may have gone back
            return;
        }
        timers.backOff();
        tcp.count("tcp.rto");
        switch (state) {
            case SYN_SENT -> sendSyn(false);
            case SYN_RECEIVED -> sendSyn(true);
            default -> {
                if (cc != null) {
                    cc.onRetransmitTimeout(snd.max(), inFlight(), tcp.now());
                }
                if (scoreboard != null && timers.retransmissions() > 1) {
                    // RFC 2018 8 / RFC 6675 5.1 say to forget the SACKs after a timeout, in case the receiver
                    // reneged. Like Linux, keep them after the first one (the go-back then skips SACKed data)
                    // and forget them only when a second timeout follows without progress.
                    scoreboard = new SackScoreboard(snd.una());
                }
                // Go back: resend the first unacknowledged segment now (SND.NXT just past it), the rest
                // through trySend as ACKs open the window. (Before, SND.NXT stayed at SND.UNA after this
                // retransmission, so trySend sent the same segment again as new data, RTT-timed.)
                snd.goBack();
                highRxt = snd.una();
                retransmitFirst();
                armRetransmit();
            }
        }
    }

    /**
     * The retransmission timer fired while the peer's window is zero: it shut the window on data in
     * flight (RFC 9293 3.8.6.2.2). That data is not retransmitted into the window, and the
     * connection is not timed out for it: everything past SND.UNA counts as unsent again, and the
     * window is probed as any zero window is, by the persist timer (Linux keeps such a connection
     * for as long as the peer answers, too).
     */
    private void zeroWindowUnderData() {
        tcp.count("tcp.rto.zero_window");
        timers.stopTiming();
        snd.goBack();
        highRxt = snd.una();
        timers.stopRetransmit();
        persistTimeout();
    }

    // ---- keepalive ------------------------------------------------------------------------------

    /** Starts (or stops) the keepalive timer after SO_KEEPALIVE or its knobs changed. */
    void armKeepalive() {
        if (options.keepAlive && state != State.CLOSED && state != State.SYN_SENT && state != State.TIME_WAIT) {
            timers.armKeepalive(options.keepIdleSeconds * 1_000_000_000L, this::keepaliveTimeout);
        } else {
            timers.stopKeepalive();
        }
    }

    /**
     * RFC 1122 4.2.3.6 as Linux does it: after {@code TCP_KEEPIDLE} with nothing heard, a probe (an
     * ACK one byte before SND.NXT, which the peer must answer) every {@code TCP_KEEPINTVL}; after
     * {@code TCP_KEEPCNT} unanswered probes the connection fails with ETIMEDOUT. No probes while data
     * is in flight: the retransmission timer watches the peer then.
     */
    private void keepaliveTimeout() {
        if (!options.keepAlive || state == State.CLOSED || state == State.TIME_WAIT) {
            return;
        }
        long idleNanos = options.keepIdleSeconds * 1_000_000_000L;
        long idle = tcp.now() - timers.lastHeardNanos();
        if (timers.keepaliveProbes() == 0 && idle < idleNanos) {
            timers.armKeepalive(idleNanos - idle, this::keepaliveTimeout);
            return;
        }
        if (!snd.allAcknowledged() || state == State.SYN_RECEIVED) {
            timers.armKeepalive(idleNanos, this::keepaliveTimeout);
            return;
        }
        if (timers.keepaliveProbes() >= options.keepCount) {
            tcp.count("tcp.keepalive.timeout");
            tcp.sendReset(this, ackSeq(), 0, false); // SND.MAX, as abort(): SND.NXT may have gone back
            fail(Errno.ETIMEDOUT);
            return;
        }
        timers.keepaliveProbeSent();
        tcp.count("tcp.keepalive.probe");
        tcp.output(this, segment(ackSeq() - 1, ACK, Unpooled.EMPTY_BUFFER));
        timers.armKeepalive(options.keepIntervalSeconds * 1_000_000_000L, this::keepaliveTimeout);
    }

    // ---- ending ---------------------------------------------------------------------------------

    /**
     * The peer cannot be reached (its neighbour never answered, or an ICMP error said so): a
     * connection still opening fails with {@code errno}, as Linux's does (RFC 1122 §4.2.3.9 lets an
     * established one go on: the condition may pass, and its timers decide).
     */
    void unreachable(Errno errno) {
        if (state == State.SYN_SENT) {
            tcp.count("tcp.drop.connect_unreachable");
            fail(errno);
        }
    }

    private void fail(Errno errno) {
        if (errno != null) {
            error = new ErrnoException(errno, Sockets.SocketAddress.format(remoteAddress, remotePort));
        }
        closed();
        readiness.add(Readiness.POLLERR | Readiness.POLLHUP | Readiness.POLLIN | Readiness.POLLOUT);
    }

    void closed() {
        state = State.CLOSED;
        timers.stopAll();
        endLinger();
        sendQueue.release(); // nothing more goes out; what the application has not read stays
        if (orphaned || !hasSocket) {
            releaseBuffers();
        }
        readiness.add(Readiness.POLLHUP | Readiness.POLLIN);
        tcp.forget(this);
    }

    @Override
    public String toString() {
        return localAddress + ":" + localPort + " > " + remoteAddress + ":" + remotePort + " " + state;
    }
}
