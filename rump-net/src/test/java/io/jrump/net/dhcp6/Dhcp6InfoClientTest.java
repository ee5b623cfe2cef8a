package io.jrump.net.dhcp6;

import static io.jrump.net.dhcp6.FakeDhcp6Server.MS;
import static io.jrump.net.dhcp6.FakeDhcp6Server.S;
import static io.jrump.net.dhcp6.FakeDhcp6Server.WEEK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.net.dhcp.Octets;
import io.jrump.net.dhcp6.Dhcp6InfoClient.State;
import io.jrump.net.dhcp6.Dhcp6Options.StatusCode;
import io.jrump.net.dhcp6.FakeDhcp6Server.Sent;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** The stateless DHCPv6 client against a fake server on the simulation host's virtual time. */
class Dhcp6InfoClientTest {
    final SimWorld world = new SimWorld(19);
    final SimHost host = world.newHost("client");
    final FakeDhcp6Server server = new FakeDhcp6Server(host);

    Dhcp6InfoClient client() {
        Dhcp6InfoClient c = new Dhcp6InfoClient(host, FakeDhcp6Server.CLIENT_MAC, server, server);
        server.client = c;
        return c;
    }

    boolean runUntil(Dhcp6InfoClient c, State s, Duration max) {
        return world.runUntil(() -> c.state() == s, max);
    }

    @Test
    void firstRequestWithinTheRandomDelayThenTheReplyConfigures() {
        Dhcp6InfoClient c = client();
        long t0 = world.now();
        c.start();
        assertEquals(State.STARTING, c.state());
        assertTrue(runUntil(c, State.CONFIGURED, Duration.ofSeconds(2)));
        Sent first = server.sent.get(0);
        assertEquals(1, server.sent.size());
        assertTrue(first.nanos() - t0 <= Dhcp6InfoClient.INF_MAX_DELAY_NANOS, "delay " + (first.nanos() - t0));
        Dhcp6Message m = first.message();
        assertEquals(Dhcp6MessageType.INFORMATION_REQUEST, m.type());
        assertEquals(c.transactionId(), m.transactionId());
        assertEquals(Duid.ll(FakeDhcp6Server.CLIENT_MAC), m.options().clientId());
        assertEquals(Octets.of(new byte[] {0, 3, 0, 1, 2, 0, 0, 0, 0, 1}), m.options().clientId().value());
        assertEquals(List.of(23, 24, 32, 83), m.options().optionRequest());
        assertEquals(0, first.elapsed(), "the first message of an exchange says 0");
        assertNull(m.options().serverId());
        Dhcp6Info info = c.info();
        assertEquals(List.of(info), server.configured);
        assertEquals(FakeDhcp6Server.SERVER_DUID, info.serverId());
        assertEquals(FakeDhcp6Server.DNS, info.dnsServers());
        assertEquals(FakeDhcp6Server.SEARCH, info.searchList());
        assertEquals(WEEK, info.refreshSeconds());
        assertEquals(first.nanos() + MS, info.acquiredNanos());
        assertEquals(List.of(State.STARTING, State.REQUESTING, State.CONFIGURED), server.states);
        assertEquals(List.of(), world.failures());
    }

    /**
     * RFC 8415 §15 with INF_TIMEOUT 1 s and INF_MAX_RT 3600 s: the first interval 1 s ±10%, each
     * next twice the last ±10% of the last, until over INF_MAX_RT, then INF_MAX_RT ±10%; one
     * transaction-id; Elapsed Time in hundredths since the first message, capped at 0xffff.
     */
    @Test
    void retransmissionFollowsRfc8415Section15CappedAtInfMaxRt() {
        server.answer = false;
        Dhcp6InfoClient c = client();
        c.start();
        world.runFor(Duration.ofHours(6));
        List<Long> gaps = server.intervals();
        assertTrue(gaps.size() >= 15, gaps.size() + " intervals");
        checkSchedule(gaps, 3600 * S);
        long t0 = server.sent.get(0).nanos();
        for (Sent s : server.sent) {
            assertEquals(c.transactionId(), s.xid(), "one exchange, one transaction-id");
            assertEquals(Math.min(0xffff, (s.nanos() - t0) / (10 * MS)), s.elapsed());
        }
        assertEquals(0xffff, server.sent.get(server.sent.size() - 1).elapsed(), "capped after 655.35 s");
        assertEquals(State.REQUESTING, c.state());
        assertEquals(List.of(), world.failures());
    }

    /** Checks each interval against the previous one and the cap (all within ±10%); the cap must be reached. */
    static void checkSchedule(List<Long> gaps, long mrt) {
        long first = gaps.get(0);
        assertTrue(first >= 900 * MS && first <= 1100 * MS, "first interval " + first);
        boolean capped = false;
        for (int i = 1; i < gaps.size(); i++) {
            long prev = gaps.get(i - 1);
            long g = gaps.get(i);
            boolean doubled = g >= prev * 19 / 10 && g <= prev * 21 / 10 && g <= mrt * 11 / 10;
            boolean atCap = g >= mrt * 9 / 10 && g <= mrt * 11 / 10;
            assertTrue(doubled || atCap, "interval " + i + ": " + g + " ns after " + prev);
            assertTrue(g <= mrt * 11 / 10, "interval " + i + " over INF_MAX_RT + 10%: " + g);
            capped |= atCap && prev * 19 / 10 > mrt;
        }
        assertTrue(capped, "the intervals reach INF_MAX_RT: " + gaps);
    }

    /** INF_MAX_RT (83) of 60 s, in a failed Reply even, caps the intervals; out of 60..86400 it is ignored. */
    @Test
    void infMaxRtOptionIsHonouredWithinItsRange() {
        server.status = StatusCode.of(StatusCode.UNSPEC_FAIL, "not now");
        server.infMaxRtSeconds = 60L;
        Dhcp6InfoClient c = client();
        c.start();
        world.runFor(Duration.ofMinutes(20));
        assertEquals(60, c.infMaxRtSeconds());
        checkSchedule(server.intervals(), 60 * S);
        assertEquals(State.REQUESTING, c.state());

        for (long outOfRange : new long[] {59, 86_401, Dhcp6Options.INFINITY}) {
            server.sent.clear();
            server.infMaxRtSeconds = outOfRange;
            c.start();
            world.runFor(Duration.ofHours(3));
            assertEquals(3600, c.infMaxRtSeconds(), "INF_MAX_RT " + outOfRange + " ignored");
            checkSchedule(server.intervals(), 3600 * S);
        }
    }

    @Test
    void repliesWithAnotherTransactionIdOrDuidAndOtherTypesAreIgnored() {
        List<UnaryOperator<Dhcp6Message>> wrong = List.of(
                r -> new Dhcp6Message(r.type(), (r.transactionId() + 1) & 0xff_ffff, r.options()),
                r -> new Dhcp6Message(Dhcp6MessageType.ADVERTISE, r.transactionId(), r.options()),
                r -> new Dhcp6Message(r.type(), r.transactionId(), Dhcp6Options.builder()
                        .clientId(r.options().clientId()).dnsServers(FakeDhcp6Server.DNS).build()), // no Server Identifier
                r -> new Dhcp6Message(r.type(), r.transactionId(), Dhcp6Options.builder()
                        .serverId(FakeDhcp6Server.SERVER_DUID).dnsServers(FakeDhcp6Server.DNS).build()), // no Client Identifier
                r -> new Dhcp6Message(r.type(), r.transactionId(), Dhcp6Options.builder()
                        .serverId(FakeDhcp6Server.SERVER_DUID).clientId(Duid.ll(io.jrump.hypercall.MacAddress.parse(
                                "02:00:00:00:00:99"))).build()));
        for (UnaryOperator<Dhcp6Message> t : wrong) {
            server.sent.clear();
            server.tamper = t;
            Dhcp6InfoClient c = client();
            c.start();
            world.runFor(Duration.ofSeconds(20));
            assertEquals(State.REQUESTING, c.state());
            assertNull(c.info());
            assertTrue(server.sent.size() >= 4, "still retransmitting: " + server.sent.size());
            assertEquals(server.sent.size(), c.ignoredCount());
            c.stop();
        }
        assertEquals(List.of(), server.configured);
    }

    @Test
    void malformedPayloadsAreCountedAndDropped() {
        server.answer = false;
        Dhcp6InfoClient c = client();
        c.start();
        world.runFor(Duration.ofSeconds(2));
        c.receive(Unpooled.wrappedBuffer(new byte[] {7, 0, 0}));
        c.receive(Unpooled.wrappedBuffer(new byte[] {7, 0, 0, 1, 0, 23, 0, 3, 1, 2, 3}));
        assertEquals(2, c.malformedCount());
        assertEquals(State.REQUESTING, c.state());
    }

    /** NoAddrsAvail (or any status but Success) is counted and reported; the client goes on asking, same id. */
    @Test
    void failureStatusIsCountedAndRetransmissionContinues() {
        server.status = StatusCode.of(StatusCode.NO_ADDRS_AVAIL, "no addresses");
        Dhcp6InfoClient c = client();
        c.start();
        world.runFor(Duration.ofSeconds(10));
        assertEquals(State.REQUESTING, c.state());
        assertNull(c.info());
        int n = server.sent.size();
        assertTrue(n >= 3, n + " sent");
        assertEquals(n, c.failedStatusCount());
        assertEquals(n, server.failed.size());
        assertEquals(StatusCode.NO_ADDRS_AVAIL, c.lastFailure().code());
        assertEquals("no addresses", c.lastFailure().text());
        assertTrue(server.sent.stream().allMatch(s -> s.xid() == c.transactionId()));
        server.status = StatusCode.of(StatusCode.SUCCESS, "");
        assertTrue(runUntil(c, State.CONFIGURED, Duration.ofMinutes(1)));
        assertEquals(FakeDhcp6Server.DNS, c.info().dnsServers());
    }

    /** A refresh time of a week runs in milliseconds: a new exchange at exactly the refresh time, no delay. */
    @Test
    void refreshesAfterTheInformationRefreshTime() {
        Dhcp6InfoClient c = client();
        c.start();
        assertTrue(runUntil(c, State.CONFIGURED, Duration.ofSeconds(2)));
        Dhcp6Info first = c.info();
        int firstXid = c.transactionId();
        long wall = System.nanoTime();
        world.runFor(Duration.ofDays(22));
        long wallMs = (System.nanoTime() - wall) / 1_000_000;
        assertTrue(wallMs < 5000, "three weeks of refreshes in " + wallMs + " ms");
        assertEquals(4, server.sent.size(), "one request, then one a week");
        for (int i = 1; i < 4; i++) {
            Sent s = server.sent.get(i);
            assertEquals(first.acquiredNanos() + i * WEEK * S + (i - 1) * MS, s.nanos(), "refresh " + i);
            assertEquals(0, s.elapsed());
            assertNotEquals(server.sent.get(i - 1).xid(), s.xid(), "a new exchange, a new transaction-id");
        }
        assertNotEquals(firstXid, c.transactionId());
        assertEquals(4, server.configured.size());
        assertEquals(State.CONFIGURED, c.state());
        assertTrue(server.states.contains(State.REFRESHING));
    }

    /** RFC 8415 §21.23: at least 600 s, 86400 s when absent, never when infinite. */
    @Test
    void refreshTimeBoundsAndDefault() {
        assertEquals(600, Dhcp6InfoClient.refreshSeconds(0L));
        assertEquals(600, Dhcp6InfoClient.refreshSeconds(599L));
        assertEquals(601, Dhcp6InfoClient.refreshSeconds(601L));
        assertEquals(86_400, Dhcp6InfoClient.refreshSeconds(null));
        Long[] given = {10L, 599L, null};
        long[] expected = {600, 600, 86_400};
        for (int i = 0; i < given.length; i++) {
            server.sent.clear();
            server.refreshSeconds = given[i];
            Dhcp6InfoClient c = client();
            c.start();
            assertTrue(runUntil(c, State.CONFIGURED, Duration.ofSeconds(2)));
            long acquired = c.info().acquiredNanos();
            assertEquals(expected[i], c.info().refreshSeconds());
            world.runFor(Duration.ofSeconds(expected[i] + 1));
            assertEquals(2, server.sent.size(), "refresh time " + given[i]);
            assertEquals(acquired + expected[i] * S, server.sent.get(1).nanos(), "refresh time " + given[i]);
            c.stop();
        }
        server.sent.clear();
        server.refreshSeconds = Dhcp6Options.INFINITY;
        Dhcp6InfoClient c = client();
        c.start();
        assertTrue(runUntil(c, State.CONFIGURED, Duration.ofSeconds(2)));
        assertTrue(c.info().infinite());
        world.runFor(Duration.ofDays(400));
        assertEquals(1, server.sent.size(), "infinite: no refresh");
    }

    @Test
    void solMaxRtIsKeptOnlyWithinItsRange() {
        server.solMaxRtSeconds = 120L;
        Dhcp6InfoClient c = client();
        c.start();
        assertTrue(runUntil(c, State.CONFIGURED, Duration.ofSeconds(2)));
        assertEquals(120L, c.info().solMaxRtSeconds());
        server.solMaxRtSeconds = 10L;
        c.start();
        assertTrue(runUntil(c, State.CONFIGURED, Duration.ofSeconds(2)));
        assertNull(c.info().solMaxRtSeconds());
    }

    @Test
    void stopDropsTheInformationAndSendsNoMore() {
        Dhcp6InfoClient c = client();
        c.start();
        assertTrue(runUntil(c, State.CONFIGURED, Duration.ofSeconds(2)));
        Dhcp6Info info = c.info();
        c.stop();
        assertEquals(State.STOPPED, c.state());
        assertNull(c.info());
        assertEquals(List.of(info), server.removed);
        world.runFor(Duration.ofDays(30));
        assertEquals(1, server.sent.size());
        Dhcp6Message late = server.reply(server.sent.get(0).message());
        c.receive(late);
        assertEquals(1, c.ignoredCount(), "a reply while stopped is ignored");
        assertEquals(List.of(), world.failures());
    }

    /** Found by Dhcp6InfoClientFuzzTest: a restart drops the information first, as the link may have changed. */
    @Test
    void restartDropsTheInformationThenAsksAgain() {
        Dhcp6InfoClient c = client();
        c.start();
        assertTrue(runUntil(c, State.CONFIGURED, Duration.ofSeconds(2)));
        Dhcp6Info first = c.info();
        c.start();
        assertEquals(State.STARTING, c.state());
        assertNull(c.info());
        assertEquals(List.of(first), server.removed);
        assertTrue(runUntil(c, State.CONFIGURED, Duration.ofSeconds(2)));
        assertEquals(2, server.configured.size());
    }
}
