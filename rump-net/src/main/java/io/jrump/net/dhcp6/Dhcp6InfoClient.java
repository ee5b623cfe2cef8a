package io.jrump.net.dhcp6;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostScheduler.ScheduledTask;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp6.Dhcp6Options.StatusCode;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Objects;

/**
 * A stateless DHCPv6 client for one interface (RFC 8415 §18.2.6, §18.2.10): it asks for the DNS
 * servers and the domain search list (RFC 3646) with Information-request and hands what the
 * Reply gives to a {@link Listener}. It opens no socket: it sends UDP payloads through a
 * {@link Transport} (the stack sends them from the interface's link-local address, port
 * {@link #CLIENT_PORT}, to {@link #ALL_DHCP_RELAY_AGENTS_AND_SERVERS} port {@link #SERVER_PORT}),
 * and the caller gives it the payloads received on port 546 ({@link #receive}). Time, timers and
 * randomness come from the host, as for {@code DhcpClient}.
 *
 * <p>{@link #start} waits a random 0..INF_MAX_DELAY (1 s), then sends Information-request with its
 * DUID-LL (Client Identifier), an Option Request for options 23, 24, 32 and 83, and Elapsed Time
 * (hundredths of a second since the exchange's first message, at most 0xffff). It retransmits
 * with the same transaction-id (RFC 8415 §15): first after INF_TIMEOUT (1 s), then twice the last
 * interval, each ±10% at random, and once an interval passes INF_MAX_RT (3600 s, or the server's
 * INF_MAX_RT option if within 60..86400) it is INF_MAX_RT ±10%; there is no limit on attempts. A
 * Reply is accepted only with this exchange's transaction-id, a Server Identifier and our Client
 * Identifier; other messages are counted and ignored. A Reply whose Status Code is not Success is
 * counted and reported ({@link Listener#failed}) and retransmission goes on; its INF_MAX_RT and
 * SOL_MAX_RT still count (RFC 8415 §18.2.10). A successful Reply is given to
 * {@link Listener#configured}, and the client asks again (a new exchange, no delay) after the
 * Information Refresh Time (at least 600 s, 86400 s by default, never if infinite).
 *
 * <p>Not thread-safe: call it on the host's event loop, where its timers run.
 */
public final class Dhcp6InfoClient {
    /** ff02::1:2 (RFC 8415 §7.1). */
    public static final Ipv6Address ALL_DHCP_RELAY_AGENTS_AND_SERVERS = Ipv6Address.parse("ff02::1:2");
    public static final int CLIENT_PORT = 546;
    public static final int SERVER_PORT = 547;
    static final long SECOND = 1_000_000_000L;
    /** RFC 8415 §7.6 transmission parameters. */
    static final long INF_MAX_DELAY_NANOS = SECOND;
    static final long INF_TIMEOUT_NANOS = SECOND;
    static final long INF_MAX_RT_SECONDS = 3600;
    /** The range a server's SOL_MAX_RT and INF_MAX_RT must be in to be used (RFC 8415 §21.24, §21.25). */
    static final long MAX_RT_MIN_SECONDS = 60;
    static final long MAX_RT_MAX_SECONDS = 86_400;
    /** RFC 8415 §21.23. */
    static final long IRT_DEFAULT_SECONDS = 86_400;
    static final long IRT_MINIMUM_SECONDS = 600;
    /** RAND of RFC 8415 §15 in ten-thousandths: -0.1..+0.1. */
    static final int RAND_SPAN = 1000;
    /** Asked for: DNS servers, search list, Information Refresh Time, INF_MAX_RT (RFC 8415 §18.2.6). */
    static final List<Integer> REQUESTED = List.of(Dhcp6Option.DNS_SERVERS, Dhcp6Option.DOMAIN_LIST,
            Dhcp6Option.INFORMATION_REFRESH_TIME, Dhcp6Option.INF_MAX_RT);

    /**
     * STOPPED; STARTING (the random delay before the first message); REQUESTING (no information
     * yet); CONFIGURED (information held, waiting to refresh); REFRESHING (asking again, the old
     * information still held).
     */
    public enum State { STOPPED, STARTING, REQUESTING, CONFIGURED, REFRESHING }

    /** How the client's messages leave: a UDP payload from port 546 to ff02::1:2 port 547. */
    @FunctionalInterface
    public interface Transport {
        void send(ByteBuf payload);
    }

    /** What to configure. Called on the event loop, from within the client's calls and timers. */
    public interface Listener {
        /** Use this information (DNS servers, search list); called again on each refresh. */
        void configured(Dhcp6Info info);

        /** A Reply for our exchange carried this failure status; the client keeps asking. */
        default void failed(StatusCode status) {}

        /** {@link #stop} dropped the information last configured. */
        default void removed(Dhcp6Info info) {}

        /** The client moved to {@code state}. */
        default void stateChanged(State state) {}
    }

    private final Hypercalls host;
    private final Duid clientId;
    private final Transport transport;
    private final Listener listener;

    private State state = State.STOPPED;
    private int xid;
    private long exchangeStartNanos;
    /** The last retransmission interval, 0 before the first message of an exchange. */
    private long rtNanos;
    private long infMaxRtSeconds = INF_MAX_RT_SECONDS;
    private ScheduledTask timer;
    private Dhcp6Info info;
    private StatusCode lastFailure;
    private long sent;
    private long malformed;
    private long ignored;
    private long failures;

    public Dhcp6InfoClient(Hypercalls host, MacAddress mac, Transport transport, Listener listener) {
        this(host, Duid.ll(Objects.requireNonNull(mac, "mac")), transport, listener);
    }

    public Dhcp6InfoClient(Hypercalls host, Duid clientId, Transport transport, Listener listener) {
        this.host = Objects.requireNonNull(host, "host");
        this.clientId = Objects.requireNonNull(clientId, "clientId");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    /**
     * Starts asking: the first Information-request after a random 0..1 s. A restart (the link
     * changed) first drops information held ({@link Listener#removed}): it may not hold on the new link.
     */
    public void start() {
        cancel();
        dropInfo();
        infMaxRtSeconds = INF_MAX_RT_SECONDS;
        newExchange();
        enter(State.STARTING);
        long delay = (host.random().nextLong() >>> 1) % (INF_MAX_DELAY_NANOS + 1);
        timer = host.scheduler().executeAt(now() + delay, this::send);
    }

    /** Stops asking; information held is dropped ({@link Listener#removed}). */
    public void stop() {
        cancel();
        dropInfo();
        enter(State.STOPPED);
    }

    private void dropInfo() {
        Dhcp6Info held = info;
        info = null;
        if (held != null) {
            listener.removed(held);
        }
    }

    public State state() {
        return state;
    }

    /** The information of the last successful Reply, or null. */
    public Dhcp6Info info() {
        return info;
    }

    public Duid clientId() {
        return clientId;
    }

    /** The INF_MAX_RT in use, in seconds: 3600, or the server's if within 60..86400. */
    public long infMaxRtSeconds() {
        return infMaxRtSeconds;
    }

    /** The current exchange's transaction-id. */
    public int transactionId() {
        return xid;
    }

    /** Information-requests sent. */
    public long sentCount() {
        return sent;
    }

    /** Received payloads that did not parse. */
    public long malformedCount() {
        return malformed;
    }

    /** Parsed messages not a Reply to the current exchange (other types, another id, no or another DUID). */
    public long ignoredCount() {
        return ignored;
    }

    /** Replies to the current exchange whose Status Code was not Success. */
    public long failedStatusCount() {
        return failures;
    }

    /** The last failure status received, or null. */
    public StatusCode lastFailure() {
        return lastFailure;
    }

    /** A UDP payload received on port 546: parsed, dropped and counted if malformed. */
    public void receive(ByteBuf payload) {
        Dhcp6Message m;
        try {
            m = Dhcp6Message.parse(payload);
        } catch (ErrnoException e) {
            malformed++;
            return;
        }
        receive(m);
    }

    /** A message from a server. */
    public void receive(Dhcp6Message m) {
        Dhcp6Options o = m.options();
        if ((state != State.REQUESTING && state != State.REFRESHING) || m.type() != Dhcp6MessageType.REPLY
                || m.transactionId() != xid || o.serverId() == null || !clientId.equals(o.clientId())) {
            ignored++;
            return;
        }
        Long maxRt = o.infMaxRtSeconds();
        if (maxRt != null && maxRt >= MAX_RT_MIN_SECONDS && maxRt <= MAX_RT_MAX_SECONDS) {
            infMaxRtSeconds = maxRt;
        }
        if (o.status() != null && !o.status().success()) {
            failures++;
            lastFailure = o.status();
            listener.failed(o.status());
            return;
        }
        cancel();
        Long sol = o.solMaxRtSeconds();
        if (sol != null && (sol < MAX_RT_MIN_SECONDS || sol > MAX_RT_MAX_SECONDS)) {
            sol = null;
        }
        info = new Dhcp6Info(o.serverId(), o.dnsServers(), o.domainList(), refreshSeconds(o.refreshSeconds()), sol,
                now());
        enter(State.CONFIGURED);
        listener.configured(info);
        if (!info.infinite()) {
            timer = host.scheduler().executeAt(info.acquiredNanos() + info.refreshSeconds() * SECOND, this::refresh);
        }
    }

    /** RFC 8415 §21.23: 86400 s if absent, at least 600 s, infinity kept. */
    static long refreshSeconds(Long given) {
        if (given == null) {
            return IRT_DEFAULT_SECONDS;
        }
        return Math.max(IRT_MINIMUM_SECONDS, given);
    }

    private void refresh() {
        newExchange();
        enter(State.REFRESHING);
        send();
    }

    /** Sends (or resends) this exchange's Information-request and sets the next retransmission. */
    private void send() {
        if (rtNanos == 0) {
            exchangeStartNanos = now();
            if (state == State.STARTING) {
                enter(State.REQUESTING);
            }
        }
        int elapsed = (int) Math.min(0xffff, (now() - exchangeStartNanos) / 10_000_000L);
        Dhcp6Options o = Dhcp6Options.builder().clientId(clientId).optionRequest(REQUESTED)
                .elapsedHundredths(elapsed).build();
        sent++;
        transport.send(new Dhcp6Message(Dhcp6MessageType.INFORMATION_REQUEST, xid, o).toByteBuf());
        rtNanos = nextInterval(rtNanos);
        timer = host.scheduler().executeAt(now() + rtNanos, this::send);
    }

    /** RFC 8415 §15: IRT + RAND*IRT first, then 2*RTprev + RAND*RTprev, over MRT MRT + RAND*MRT. */
    long nextInterval(long previous) {
        long mrt = infMaxRtSeconds * SECOND;
        long rt = previous == 0 ? INF_TIMEOUT_NANOS + rand(INF_TIMEOUT_NANOS) : 2 * previous + rand(previous);
        if (rt > mrt) {
            rt = mrt + rand(mrt);
        }
        return rt;
    }

    /** RAND × {@code v}, RAND uniform in -0.1..+0.1 in steps of 0.0001. */
    private long rand(long v) {
        int k = host.random().nextInt(2 * RAND_SPAN + 1) - RAND_SPAN;
        return v / 10_000 * k;
    }

    private void newExchange() {
        xid = (int) (host.random().nextLong() & 0xff_ffff);
        rtNanos = 0;
    }

    private long now() {
        return host.clock().monotonicNanos();
    }

    private void enter(State s) {
        if (state != s) {
            state = s;
            listener.stateChanged(s);
        }
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel();
            timer = null;
        }
    }
}
