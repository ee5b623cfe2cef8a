package io.jrump.net.stack;

import static io.jrump.net.wire.TcpSegment.ACK;
import static io.jrump.net.wire.TcpSegment.FIN;
import static io.jrump.net.wire.TcpSegment.PSH;
import static io.jrump.net.wire.TcpSegment.RST;
import static io.jrump.net.wire.TcpSegment.SYN;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.Callout;
import io.jrump.net.Ipv4Address;
import io.jrump.net.socket.Readiness;
import io.jrump.net.tcp.CongestionControl;
import io.jrump.net.tcp.Cubic;
import io.jrump.net.tcp.ReassemblyQueue;
import io.jrump.net.tcp.RttEstimator;
import io.jrump.net.tcp.SeqNum;
import io.jrump.net.wire.TcpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayDeque;
import java.util.List;

/**
 * One TCP connection's control block and state machine (RFC 9293): the three-way handshake
 * (both active and passive, simultaneous open included), data both ways with MSS segmentation,
 * Nagle, window scaling, retransmission on the RFC 6298 timer with Karn and backoff, fast
 * retransmit and recovery through the pluggable congestion control (CUBIC by default), an
 * out-of-order queue, delayed ACKs, zero-window probing, the FIN states down to TIME_WAIT, and
 * RFC 5961's defences (a RST is taken only at exactly rcv.nxt, anything else in the window earns
 * a challenge ACK; so does a SYN on a synchronized connection). Runs on the event loop.
 */
final class TcpConnection {
    enum State { CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING,
        LAST_ACK, TIME_WAIT }

    static final int DEFAULT_BUFFER = 256 * 1024;
    static final long TIME_WAIT_NANOS = 60_000_000_000L; // 2·MSL with Linux's MSL of 30 s
    static final long DELAYED_ACK_NANOS = 40_000_000L;
    static final int MAX_RETRANSMISSIONS = 15;
    static final int MAX_SYN_RETRANSMISSIONS = 6;
    static final int WINDOW_SCALE = 7;

    final Tcp tcp;
    final Ipv4Address localAddress;
    final int localPort;
    final Ipv4Address remoteAddress;
    final int remotePort;
    State state = State.CLOSED;
    final Readiness readiness = new Readiness();
    ErrnoException error;
    TcpListener listener; // the listener a passive open came from
    boolean listenerCounted; // still counted among the listener's embryonic connections
    boolean noDelay;

    // Send side: sndUna .. sndNxt in flight, sendBuffer holds bytes from sndUna on.
    int iss;
    int sndUna;
    int sndNxt;
    int sndMax; // highest sequence number sent, for retransmission after a timeout rewinds sndNxt
    long sndWnd; // the peer's window, scaled
    int sndWl1;
    int sndWl2;
    int sndScale; // the peer's shift
    int mss = 536;
    final ArrayDeque<byte[]> sendQueue = new ArrayDeque<>();
    long sendQueued; // bytes in sendQueue not yet acknowledged, from sndUna on
    int sendHeadOffset; // bytes of the first queued array already acknowledged
    final int sendBufferLimit = DEFAULT_BUFFER;
    boolean finQueued; // the application closed its side
    boolean finSent;
    int finSeq;

    // Receive side.
    int irs;
    int rcvNxt;
    int rcvScale; // our shift, if the peer agreed
    final ArrayDeque<byte[]> receiveQueue = new ArrayDeque<>();
    long received; // bytes waiting for the application
    int receiveHeadOffset;
    final int receiveBufferLimit = DEFAULT_BUFFER;
    ReassemblyQueue outOfOrder;
    boolean finReceived;
    int unackedSegments;

    // Timers and estimators.
    final RttEstimator rtt = new RttEstimator();
    CongestionControl cc;
    final Callout retransmitTimer;
    final Callout delayedAckTimer;
    final Callout timeWaitTimer;
    int retransmissions;
    long rttSampleSeqNanos;
    int rttSampleSeq;
    boolean rttSampling;

    TcpConnection(Tcp tcp, Ipv4Address localAddress, int localPort, Ipv4Address remoteAddress, int remotePort) {
        this.tcp = tcp;
        this.localAddress = localAddress;
        this.localPort = localPort;
        this.remoteAddress = remoteAddress;
        this.remotePort = remotePort;
        this.retransmitTimer = tcp.newCallout("tcp-rto");
        this.delayedAckTimer = tcp.newCallout("tcp-delack");
        this.timeWaitTimer = tcp.newCallout("tcp-timewait");
    }

    // ---- opening ---------------------------------------------------------------------------------

    /** An active open: SYN_SENT. */
    void connect(int isn) {
        iss = isn;
        sndUna = iss;
        sndNxt = iss;
        sndMax = iss;
        state = State.SYN_SENT;
        sendSyn(false);
    }

    /** A passive open from a listener's SYN: SYN_RECEIVED, SYN-ACK sent. */
    void acceptSyn(TcpRepr syn, int isn) {
        irs = syn.sequenceNumber();
        rcvNxt = irs + 1;
        outOfOrder = new ReassemblyQueue(rcvNxt, receiveBufferLimit, 64);
        peerOptions(syn);
        iss = isn;
        sndUna = iss;
        sndNxt = iss;
        sndMax = iss;
        sndWnd = syn.window(); // a SYN's window is never scaled
        state = State.SYN_RECEIVED;
        sendSyn(true);
    }

    private void peerOptions(TcpRepr syn) {
        int peerMss = syn.maxSegmentSize() > 0 ? syn.maxSegmentSize() : 536;
        mss = Math.max(64, Math.min(peerMss, tcp.mssFor(remoteAddress)));
        if (syn.windowScale() >= 0) {
            sndScale = Math.min(14, syn.windowScale());
            rcvScale = WINDOW_SCALE;
        } else {
            sndScale = 0;
            rcvScale = 0;
        }
    }

    private void sendSyn(boolean ack) {
        TcpRepr syn = new TcpRepr(localPort, remotePort, iss, ack ? rcvNxt : 0, SYN | (ack ? ACK : 0),
                (int) Math.min(65535, receiveWindow()), 0, tcp.mssFor(remoteAddress),
                ack ? (rcvScale > 0 ? WINDOW_SCALE : -1) : WINDOW_SCALE, false, null, List.of(), Unpooled.EMPTY_BUFFER);
        sndNxt = iss + 1;
        sndMax = SeqNum.max(sndMax, sndNxt);
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
        if (ack && (SeqNum.le(seg.acknowledgmentNumber(), iss) || SeqNum.gt(seg.acknowledgmentNumber(), sndNxt))) {
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
        irs = seg.sequenceNumber();
        rcvNxt = irs + 1;
        outOfOrder = new ReassemblyQueue(rcvNxt, receiveBufferLimit, 64);
        peerOptions(seg);
        if (ack) {
            sndUna = seg.acknowledgmentNumber();
            sndWnd = (long) seg.window() << sndScale;
            sndWl1 = seg.sequenceNumber();
            sndWl2 = seg.acknowledgmentNumber();
            established();
            sendAck();
        } else {
            // Simultaneous open: SYN_RECEIVED, and our SYN again with an ACK.
            state = State.SYN_RECEIVED;
            sndWnd = seg.window();
            sendSyn(true);
        }
    }

    private void established() {
        state = State.ESTABLISHED;
        retransmitTimer.stop();
        retransmissions = 0;
        cc = new Cubic(mss);
        readiness.add(Readiness.POLLOUT);
        tcp.established(this);
    }

    /** Whether a segment of {@code len} at {@code seq} is acceptable (RFC 9293 3.10.7.4). */
    private boolean acceptable(int seq, int len) {
        long wnd = receiveWindow();
        if (len == 0) {
            return wnd == 0 ? seq == rcvNxt : SeqNum.le(rcvNxt, seq) && SeqNum.lt(seq, SeqNum.add(rcvNxt, wnd));
        }
        if (wnd == 0) {
            return false;
        }
        int last = seq + len - 1;
        return (SeqNum.le(rcvNxt, seq) && SeqNum.lt(seq, SeqNum.add(rcvNxt, wnd)))
                || (SeqNum.le(rcvNxt, last) && SeqNum.lt(last, SeqNum.add(rcvNxt, wnd)));
    }

    private void synchronizedInput(TcpRepr seg) {
        int len = seg.payload().readableBytes() + (seg.hasFlags(SYN) ? 1 : 0) + (seg.hasFlags(FIN) ? 1 : 0);
        if (!acceptable(seg.sequenceNumber(), len)) {
            if (!seg.hasFlags(RST)) {
                sendAck(); // RFC 9293: an unacceptable segment gets an ACK (this is also the challenge ACK)
            }
            tcp.count("tcp.drop.out_of_window");
            return;
        }
        if (seg.hasFlags(RST)) {
            if (seg.sequenceNumber() != rcvNxt) {
                sendAck(); // RFC 5961 3.2: a challenge ACK; the RST is not believed
                tcp.count("tcp.challenge_ack");
                return;
            }
            tcp.count("tcp.in.reset");
            fail(state == State.SYN_RECEIVED && listener != null ? null : Errno.ECONNRESET);
            return;
        }
        if (seg.hasFlags(SYN)) {
            if (state == State.SYN_RECEIVED && seg.sequenceNumber() == irs) {
                sendSyn(true); // our SYN-ACK was lost: the peer sent its SYN again
                return;
            }
            sendAck(); // RFC 5961 4.2: a SYN on a synchronized connection earns a challenge ACK
            tcp.count("tcp.challenge_ack");
            return;
        }
        if (!seg.hasFlags(ACK)) {
            return;
        }
        if (state == State.SYN_RECEIVED) {
            if (SeqNum.lt(seg.acknowledgmentNumber(), sndUna) || SeqNum.gt(seg.acknowledgmentNumber(), sndNxt)) {
                tcp.sendReset(this, seg.acknowledgmentNumber(), 0, false);
                return;
            }
            sndUna = iss + 1; // the ACK of our SYN: its sequence number is not data
            sndWnd = (long) seg.window() << sndScale;
            sndWl1 = seg.sequenceNumber();
            sndWl2 = seg.acknowledgmentNumber();
            established();
        }
        ackInput(seg);
        if (state == State.CLOSED) {
            return;
        }
        dataInput(seg);
        if (seg.hasFlags(FIN) && SeqNum.add(seg.sequenceNumber(), seg.payload().readableBytes()) == rcvNxt
                && !finReceived) {
            finInput();
        }
        trySend();
    }

    private void ackInput(TcpRepr seg) {
        int ack = seg.acknowledgmentNumber();
        if (SeqNum.gt(ack, sndMax)) {
            sendAck(); // acknowledges what we never sent
            return;
        }
        long window = (long) seg.window() << sndScale;
        if (SeqNum.gt(ack, sndUna)) {
            int acked = SeqNum.diff(ack, sndUna);
            boolean finAcked = finSent && SeqNum.ge(ack, finSeq + 1);
            long dataAcked = acked - (finAcked ? 1 : 0);
            dropAcked(dataAcked);
            long sample = 0;
            if (rttSampling && SeqNum.ge(ack, rttSampleSeq)) {
                sample = tcp.now() - rttSampleSeqNanos;
                rtt.onSample(sample, false);
                rttSampling = false;
            }
            sndUna = ack;
            if (SeqNum.lt(sndNxt, sndUna)) {
                sndNxt = sndUna;
            }
            retransmissions = 0;
            boolean partial = cc != null && dataAcked > 0
                    && cc.onAck(ack, dataAcked, rtt.srttNanos(), tcp.now(), inFlight());
            if (partial) {
                retransmitFirst();
            }
            if (sndUna == sndMax) {
                retransmitTimer.stop();
            } else {
                armRetransmit();
            }
            if (finAcked) {
                finAcked();
            }
            readiness.add(sendSpace() > 0 ? Readiness.POLLOUT : 0);
        } else if (ack == sndUna && seg.payload().readableBytes() == 0 && !seg.hasFlags(FIN) && window == sndWnd
                && sndUna != sndMax && cc != null) {
            tcp.count("tcp.in.dup_ack");
            if (cc.onDupAck(ack, sndMax, inFlight(), tcp.now())) {
                tcp.count("tcp.fast_retransmit");
                retransmitFirst();
            }
        }
        if (SeqNum.lt(sndWl1, seg.sequenceNumber()) || sndWl1 == seg.sequenceNumber() && SeqNum.le(sndWl2, ack)) {
            sndWnd = window;
            sndWl1 = seg.sequenceNumber();
            sndWl2 = ack;
        }
    }

    private void finAcked() {
        switch (state) {
            case FIN_WAIT_1 -> state = State.FIN_WAIT_2;
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
        int seq = seg.sequenceNumber();
        // Keep only what fits the window we offered: up to rcv.nxt + rcv.wnd.
        long windowEnd = receiveWindow() - SeqNum.diff(seq, rcvNxt);
        int keep = (int) Math.max(0, Math.min(len, windowEnd));
        byte[] data = new byte[keep];
        p.getBytes(p.readerIndex(), data);
        boolean inOrder = SeqNum.le(seq, rcvNxt);
        byte[] ready = outOfOrder.offer(seq, data);
        if (ready.length > 0) {
            deliver(ready);
            rcvNxt = outOfOrder.rcvNxt();
        }
        if (!inOrder || !outOfOrder.isEmpty()) {
            tcp.count("tcp.in.out_of_order");
            sendAck(); // a duplicate ACK tells the sender of the hole at once
        } else if (++unackedSegments >= 2) {
            sendAck();
        } else if (!delayedAckTimer.isPending()) {
            delayedAckTimer.schedule(DELAYED_ACK_NANOS, this::sendAck);
        }
    }

    private void deliver(byte[] data) {
        if (data.length == 0) {
            return;
        }
        receiveQueue.add(data);
        received += data.length;
        readiness.add(Readiness.POLLIN);
    }

    private void finInput() {
        finReceived = true;
        rcvNxt = rcvNxt + 1;
        sendAck();
        readiness.add(Readiness.POLLIN); // readable: recv returns 0 at the end
        switch (state) {
            case SYN_RECEIVED, ESTABLISHED -> state = State.CLOSE_WAIT;
            case FIN_WAIT_1 -> state = State.CLOSING; // our FIN is not acknowledged yet, or we would be in FIN_WAIT_2
            case FIN_WAIT_2 -> timeWait();
            default -> { }
        }
    }

    private void timeWait() {
        state = State.TIME_WAIT;
        retransmitTimer.stop();
        timeWaitTimer.schedule(TIME_WAIT_NANOS, this::closed);
    }

    // ---- the application's side ----------------------------------------------------------------

    long receiveWindow() {
        return Math.max(0, receiveBufferLimit - received - (outOfOrder == null ? 0 : outOfOrder.bufferedBytes()));
    }

    long sendSpace() {
        return sendBufferLimit - sendQueued;
    }

    /** Queues bytes to send; returns how many fitted. */
    int write(byte[] data, int off, int len) {
        int n = (int) Math.min(len, sendSpace());
        if (n > 0) {
            sendQueue.add(java.util.Arrays.copyOfRange(data, off, off + n));
            sendQueued += n;
            trySend();
        }
        if (sendSpace() <= 0) {
            readiness.remove(Readiness.POLLOUT);
        }
        return n;
    }

    /** Takes up to {@code max} received bytes; an empty array means none (check finReceived for the end). */
    byte[] read(int max) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        while (max > 0 && !receiveQueue.isEmpty()) {
            byte[] head = receiveQueue.peek();
            int n = Math.min(max, head.length - receiveHeadOffset);
            out.write(head, receiveHeadOffset, n);
            receiveHeadOffset += n;
            max -= n;
            received -= n;
            if (receiveHeadOffset == head.length) {
                receiveQueue.poll();
                receiveHeadOffset = 0;
            }
        }
        if (receiveQueue.isEmpty() && !finReceived && error == null) {
            readiness.remove(Readiness.POLLIN);
        }
        byte[] bytes = out.toByteArray();
        if (bytes.length > 0 && receiveWindow() >= Math.max(mss, receiveBufferLimit / 2)
                && receiveWindow() - bytes.length < Math.max(mss, receiveBufferLimit / 2)) {
            sendAck(); // the window opened by a useful amount: tell the peer (avoids SWS)
        }
        return bytes;
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

    /** SO_LINGER with a zero timeout, or close with unread data: RST, and gone. */
    void abort() {
        if (state != State.CLOSED && state != State.SYN_SENT && state != State.TIME_WAIT) {
            tcp.sendReset(this, sndNxt, 0, false);
        }
        closed();
    }

    // ---- output ---------------------------------------------------------------------------------

    long inFlight() {
        return Math.max(0, SeqNum.diff(sndNxt, sndUna));
    }

    /** Sends what the windows allow: full segments, a last small one when Nagle lets it, then a FIN. */
    void trySend() {
        if (state != State.ESTABLISHED && state != State.CLOSE_WAIT && state != State.FIN_WAIT_1
                && state != State.LAST_ACK && state != State.CLOSING) {
            return;
        }
        while (true) {
            long unsent = sendQueued - SeqNum.diff(sndNxt, sndUna) + (finSent && SeqNum.gt(sndNxt, finSeq) ? 1 : 0);
            long window = Math.min(sndWnd, cc.cwnd());
            long room = window - inFlight();
            if (unsent <= 0) {
                break;
            }
            if (room <= 0) {
                if (sndWnd == 0 && !retransmitTimer.isPending()) {
                    armRetransmit(); // the persist timer: a zero-window probe on expiry
                }
                break;
            }
            int n = (int) Math.min(Math.min(unsent, mss), room);
            if (n < mss && n < unsent) {
                break; // wait for a fuller window (silly window syndrome)
            }
            if (n < mss && !noDelay && inFlight() > 0) {
                break; // Nagle: a small segment only when nothing is in flight
            }
            sendData(sndNxt, n, false);
            sndNxt = SeqNum.add(sndNxt, n);
            sndMax = SeqNum.max(sndMax, sndNxt);
        }
        if (finQueued && !finSent && sendQueued == SeqNum.diff(sndNxt, sndUna)) {
            finSeq = sndNxt;
            finSent = true;
            sendFin();
            sndNxt = SeqNum.add(sndNxt, 1);
            sndMax = SeqNum.max(sndMax, sndNxt);
        }
    }

    private void sendFin() {
        TcpRepr fin = TcpRepr.of(localPort, remotePort, finSeq, rcvNxt, FIN | ACK, advertisedWindow(),
                Unpooled.EMPTY_BUFFER);
        tcp.output(this, fin);
        armRetransmit();
    }

    /** Sends {@code len} bytes from sequence {@code seq} (which must be in the send queue). */
    private void sendData(int seq, int len, boolean retransmission) {
        int offset = SeqNum.diff(seq, sndUna);
        byte[] payload = new byte[len];
        int copied = 0;
        int skip = offset + sendHeadOffset;
        for (byte[] chunk : sendQueue) {
            if (copied == len) {
                break;
            }
            if (skip >= chunk.length) {
                skip -= chunk.length;
                continue;
            }
            int n = Math.min(chunk.length - skip, len - copied);
            System.arraycopy(chunk, skip, payload, copied, n);
            copied += n;
            skip = 0;
        }
        int flags = ACK | (SeqNum.add(seq, len) == SeqNum.add(sndUna, (int) sendQueued) ? PSH : 0);
        TcpRepr seg = TcpRepr.of(localPort, remotePort, seq, rcvNxt, flags, advertisedWindow(),
                Unpooled.wrappedBuffer(payload, 0, copied));
        if (!retransmission && !rttSampling) {
            rttSampling = true;
            rttSampleSeq = SeqNum.add(seq, len);
            rttSampleSeqNanos = tcp.now();
        }
        tcp.count(retransmission ? "tcp.out.retransmitted" : "tcp.out.data");
        unackedSegments = 0;
        delayedAckTimer.stop();
        tcp.output(this, seg);
        if (!retransmitTimer.isPending()) {
            armRetransmit();
        }
    }

    private void dropAcked(long bytes) {
        sendQueued -= bytes;
        while (bytes > 0 && !sendQueue.isEmpty()) {
            byte[] head = sendQueue.peek();
            long n = Math.min(bytes, head.length - sendHeadOffset);
            sendHeadOffset += (int) n;
            bytes -= n;
            if (sendHeadOffset == head.length) {
                sendQueue.poll();
                sendHeadOffset = 0;
            }
        }
    }

    int advertisedWindow() {
        return (int) Math.min(65535, receiveWindow() >> rcvScale);
    }

    void sendAck() {
        delayedAckTimer.stop();
        unackedSegments = 0;
        if (state == State.CLOSED || state == State.SYN_SENT) {
            return;
        }
        tcp.output(this, TcpRepr.of(localPort, remotePort, sndNxt, rcvNxt, ACK, advertisedWindow(),
                Unpooled.EMPTY_BUFFER));
    }

    private void retransmitFirst() {
        if (sndUna == sndMax) {
            return;
        }
        if (finSent && sndUna == finSeq) {
            sendFin();
            return;
        }
        long unacked = Math.min(sendQueued, SeqNum.diff(sndMax, sndUna));
        int n = (int) Math.min(mss, unacked);
        if (n > 0) {
            sendData(sndUna, n, true);
        }
    }

    private void armRetransmit() {
        retransmitTimer.schedule(rtt.rtoNanos(), this::retransmitTimeout);
    }

    /** The retransmission timer (or the persist timer, with a zero window) fired. */
    private void retransmitTimeout() {
        if (state == State.CLOSED || state == State.TIME_WAIT) {
            return;
        }
        int limit = state == State.SYN_SENT || state == State.SYN_RECEIVED ? MAX_SYN_RETRANSMISSIONS : MAX_RETRANSMISSIONS;
        if (++retransmissions > limit) {
            tcp.count("tcp.timeout");
            fail(Errno.ETIMEDOUT);
            tcp.sendReset(this, sndNxt, 0, false);
            return;
        }
        rtt.backoff();
        rttSampling = false; // Karn: nothing sent before now times a round trip
        tcp.count("tcp.rto");
        switch (state) {
            case SYN_SENT -> sendSyn(false);
            case SYN_RECEIVED -> sendSyn(true);
            default -> {
                if (sndUna == sndMax && sndWnd == 0 && sendQueued > 0) {
                    // Zero-window probe: one byte past the window.
                    sendData(sndUna, 1, true);
                    sndNxt = SeqNum.max(sndNxt, SeqNum.add(sndUna, 1));
                    sndMax = SeqNum.max(sndMax, sndNxt);
                } else {
                    if (cc != null) {
                        cc.onRetransmitTimeout(sndMax, inFlight(), tcp.now());
                    }
                    sndNxt = sndUna; // go back: resend from the first unacknowledged byte
                    retransmitFirst();
                    if (finSent && sndUna != finSeq) {
                        sndNxt = SeqNum.add(sndUna, (int) Math.min(mss, sendQueued));
                    } else if (finSent) {
                        sndNxt = SeqNum.add(finSeq, 1);
                    }
                }
                armRetransmit();
            }
        }
    }

    // ---- ending ---------------------------------------------------------------------------------

    private void fail(Errno errno) {
        if (errno != null) {
            error = new ErrnoException(errno, remoteAddress + ":" + remotePort);
        }
        closed();
        readiness.add(Readiness.POLLERR | Readiness.POLLHUP | Readiness.POLLIN | Readiness.POLLOUT);
    }

    void closed() {
        state = State.CLOSED;
        retransmitTimer.stop();
        delayedAckTimer.stop();
        timeWaitTimer.stop();
        readiness.add(Readiness.POLLHUP | Readiness.POLLIN);
        tcp.forget(this);
    }

    @Override
    public String toString() {
        return localAddress + ":" + localPort + " > " + remoteAddress + ":" + remotePort + " " + state;
    }
}
