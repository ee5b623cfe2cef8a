package io.jrump.net.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** DnsResolver on the simulation host with a scripted transport: virtual-time timeouts, TCP fallback, caching. */
class DnsResolverTest {
    static final DnsServer S1 = server("198.18.0.53");
    static final DnsServer S2 = server("198.18.0.54");
    static final DnsName NAME = DnsName.of("name", "test");
    static final Ipv4Address V4 = Ipv4Address.parse("198.18.0.7");
    static final DnsRdata.Aaaa V6 = DnsRdata.Aaaa.of(bytes("2001:db8::7"));
    static final DnsRecord SOA = DnsRecord.in(DnsName.of("test"), DnsType.SOA, 3600, new DnsRdata.Soa(
            DnsName.of("ns", "test"), DnsName.of("hostmaster", "test"), 1, 3600, 600, 86400, 10));

    final SimWorld world = new SimWorld(19);
    final SimHost host = world.newHost("resolver");

    static DnsServer server(String a) {
        return new DnsServer(inet(a), DnsServer.PORT);
    }

    static InetAddress inet(String literal) {
        try {
            return InetAddress.getByName(literal); // literals only: no lookup
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] bytes(String literal) {
        return inet(literal).getAddress();
    }

    /** An answer to {@code query} with the given RCODE, flags and sections. */
    static byte[] answer(DnsMessage query, int rcode, boolean tc, List<DnsRecord> answers, List<DnsRecord> authority) {
        DnsHeader h = new DnsHeader(query.header().id(), true, 0, false, tc, true, true, 0, rcode);
        return new DnsMessage(h, query.questions(), answers, authority, List.of(Edns.of(1232).toRecord())).toBytes();
    }

    /** A and AAAA records of {@code name.test}, TTL 30, from the server asked, after 10 ms. */
    static List<FakeDnsTransport.Reply> addresses(DnsServer to, DnsMessage q) {
        DnsQuestion question = q.questions().get(0);
        List<DnsRecord> rrs = new ArrayList<>();
        if (question.name().equalsIgnoreCase(NAME)) {
            rrs.add(question.type() == DnsType.A ? DnsRecord.in(question.name(), DnsType.A, 30, new DnsRdata.A(V4))
                    : DnsRecord.in(question.name(), DnsType.AAAA, 30, V6));
        }
        int rcode = rrs.isEmpty() ? DnsHeader.RCODE_NXDOMAIN : DnsHeader.RCODE_NOERROR;
        return List.of(new FakeDnsTransport.Reply(to, answer(q, rcode, false, rrs, rrs.isEmpty() ? List.of(SOA)
                : List.of()), Duration.ofMillis(10)));
    }

    DnsResolver resolver(FakeDnsTransport t, DnsConfig config) {
        return new DnsResolver(host, t, config);
    }

    List<InetAddress> resolve(DnsResolver r, String name) throws ErrnoException {
        return host.scheduler().await(r.resolve(name));
    }

    ErrnoException failure(DnsResolver r, String name) {
        return assertThrows(ErrnoException.class, () -> resolve(r, name));
    }

    static final List<InetAddress> BOTH = List.of(inet("198.18.0.7"), inet("2001:db8::7"));

    @Test
    void resolvesBothFamiliesWithRandomIdsAndEdns() throws ErrnoException {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> addresses(to, q));
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)));
        assertEquals(BOTH, resolve(r, "name.test"));
        assertEquals(2, t.asked.size());
        Set<Integer> types = new HashSet<>();
        for (FakeDnsTransport.Asked a : t.asked) {
            assertTrue(a.query().header().recursionDesired());
            assertEquals(1232, a.query().edns().orElseThrow().udpPayloadSize());
            types.add(a.query().questions().get(0).type());
        }
        assertEquals(Set.of(DnsType.A, DnsType.AAAA), types);
        assertNotEquals(t.asked.get(0).query().header().id(), t.asked.get(1).query().header().id());
        assertEquals(0, t.udpSocketsOpen, "every query's socket closed");
    }

    @Test
    void aDeadServerTimesOutInVirtualTimeAndTheNextAnswers() throws ErrnoException {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> to.equals(S1) ? List.of() : addresses(to, q));
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1, S2)).withTimeout(Duration.ofSeconds(2), 2));
        long start = world.now();
        assertEquals(BOTH, resolve(r, "name.test"));
        long took = world.now() - start;
        assertTrue(took >= 2_000_000_000L && took < 2_100_000_000L, "one 2 s timeout, then S2's 10 ms: " + took);
        assertEquals(List.of(S1, S1, S2, S2), t.asked.stream().map(FakeDnsTransport.Asked::server).sorted(
                (x, y) -> x.toString().compareTo(y.toString())).toList());
        assertEquals(2, r.stats().get("timeouts"));
    }

    @Test
    void noAnswerFromAnyServerIsEtimedoutAfterEveryAttempt() {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> List.of());
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1, S2)).withTimeout(Duration.ofSeconds(2), 3));
        long start = world.now();
        assertEquals(Errno.ETIMEDOUT, failure(r, "name.test").errno());
        assertEquals(12_000_000_000L, world.now() - start, "3 attempts x 2 servers x 2 s");
        assertEquals(12, t.asked.size(), "A and AAAA, 6 tries each");
        assertEquals(0, t.udpSocketsOpen);
    }

    @Test
    void aTruncatedAnswerIsAskedAgainOverTcp() throws ErrnoException {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> tcp ? addresses(to, q)
                : List.of(new FakeDnsTransport.Reply(to, answer(q, 0, true, List.of(), List.of()), Duration.ofMillis(5))));
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)));
        assertEquals(BOTH, resolve(r, "name.test"));
        assertEquals(2, t.asked.stream().filter(FakeDnsTransport.Asked::tcp).count());
        assertEquals(2, r.stats().get("tcp.fallback"));
        assertEquals(0, t.tcpConnectionsOpen, "connections closed after the answer");
    }

    @Test
    void datagramsQueuedBeforeTheTcpFallbackAreIgnored() throws ErrnoException {
        // Found by DnsResolverFuzzTest: a second truncated answer delivered after the UDP socket closed.
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> tcp ? addresses(to, q) : List.of(
                new FakeDnsTransport.Reply(to, answer(q, 0, true, List.of(), List.of()), Duration.ofMillis(5)),
                new FakeDnsTransport.Reply(to, answer(q, 0, true, List.of(), List.of()), Duration.ofMillis(5))));
        t.deliverAfterClose = true;
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)));
        assertEquals(BOTH, resolve(r, "name.test"));
        world.runFor(Duration.ofSeconds(1));
        assertEquals(List.of(), world.failures());
        assertEquals(2, r.stats().get("tcp.fallback"));
    }

    @Test
    void aTcpConnectionClosedBeforeTheAnswerMovesOnToTheNextServer() throws ErrnoException {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> {
            if (to.equals(S2)) {
                return addresses(to, q);
            }
            return tcp ? List.of(new FakeDnsTransport.Reply(to, null, Duration.ofMillis(5)))
                    : List.of(new FakeDnsTransport.Reply(to, answer(q, 0, true, List.of(), List.of()), Duration.ZERO));
        });
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1, S2)));
        long start = world.now();
        assertEquals(BOTH, resolve(r, "name.test"));
        assertTrue(world.now() - start < 1_000_000_000L, "no timeout waited");
        assertEquals(0, t.tcpConnectionsOpen);
    }

    @Test
    void aTcpLengthPrefixShorterThanAHeaderFailsThatServer() {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> List.of(new FakeDnsTransport.Reply(to,
                tcp ? new byte[5] : answer(q, 0, true, List.of(), List.of()), Duration.ZERO)));
        ErrnoException e = failure(resolver(t, DnsConfig.of(List.of(S1)).withTimeout(Duration.ofSeconds(1), 1)),
                "name.test");
        assertEquals(Errno.EIO, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("length prefix 5"), e.getMessage());
    }

    @Test
    void aTcpServerThatNeverAnswersTimesOut() throws ErrnoException {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> tcp ? List.of()
                : List.of(new FakeDnsTransport.Reply(to, answer(q, 0, true, List.of(), List.of()), Duration.ofMillis(5))));
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)).withTimeout(Duration.ofSeconds(1), 1));
        ErrnoException e = failure(r, "name.test");
        assertEquals(Errno.ETIMEDOUT, e.errno(), e.getMessage());
    }

    @Test
    void answersAreCachedForTheirTtlInVirtualTime() throws ErrnoException {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> addresses(to, q));
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)));
        assertEquals(BOTH, resolve(r, "name.test"));
        world.runFor(Duration.ofSeconds(29));
        assertEquals(BOTH, resolve(r, "NAME.test"));
        assertEquals(2, t.asked.size(), "served from the cache within the 30 s TTL");
        assertEquals(2, r.stats().get("cache.hit"));
        world.runFor(Duration.ofSeconds(2));
        assertEquals(BOTH, resolve(r, "name.test"));
        assertEquals(4, t.asked.size(), "asked again once the TTL ran out");
    }

    @Test
    void ttlsAreCappedAndTheCacheIsBounded() throws ErrnoException {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> {
            DnsQuestion question = q.questions().get(0);
            DnsRecord rr = question.type() == DnsType.A
                    ? DnsRecord.in(question.name(), DnsType.A, 0x7fffffffL, new DnsRdata.A(V4))
                    : DnsRecord.in(question.name(), DnsType.AAAA, 0x7fffffffL, V6);
            return List.of(new FakeDnsTransport.Reply(to, answer(q, 0, false, List.of(rr), List.of()), Duration.ZERO));
        });
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)).withCache(4, Duration.ofSeconds(60), Duration.ofSeconds(60)));
        resolve(r, "a.test");
        world.runFor(Duration.ofSeconds(61));
        resolve(r, "a.test");
        assertEquals(4, t.asked.size(), "the 68-year TTL was capped at 60 s");
        resolve(r, "b.test");
        resolve(r, "c.test"); // 6 entries for a capacity of 4: a.test's are the least recently used
        resolve(r, "a.test");
        assertEquals(10, t.asked.size(), "a.test evicted");
    }

    @Test
    void nxdomainIsEnoentAndCachedForTheSoaMinimum() {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> addresses(to, q));
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)));
        ErrnoException e = failure(r, "gone.test");
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.getMessage().contains("NXDOMAIN"), e.getMessage());
        world.runFor(Duration.ofSeconds(9));
        assertEquals(Errno.ENOENT, failure(r, "gone.test").errno());
        assertEquals(2, t.asked.size(), "negative answer cached for min(SOA TTL 3600, MINIMUM 10) s");
        world.runFor(Duration.ofSeconds(2));
        assertEquals(Errno.ENOENT, failure(r, "gone.test").errno());
        assertEquals(4, t.asked.size());
    }

    @Test
    void aNameWithoutAddressesIsEnodata() {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> List.of(
                new FakeDnsTransport.Reply(to, answer(q, 0, false, List.of(), List.of(SOA)), Duration.ZERO)));
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)));
        assertEquals(Errno.ENODATA, failure(r, "mx-only.test").errno());
    }

    @Test
    void cnameChainsAreFollowedAcrossQueriesAndBounded() throws ErrnoException {
        // www -> web (in the answer), web's addresses asked separately
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> {
            DnsName n = q.questions().get(0).name();
            if (n.equals(DnsName.of("www", "test"))) {
                return List.of(new FakeDnsTransport.Reply(to, answer(q, 0, false, List.of(
                        DnsRecord.in(n, DnsType.CNAME, 60, new DnsRdata.Name(DnsName.of("alias", "test"))),
                        DnsRecord.in(DnsName.of("alias", "test"), DnsType.CNAME, 60, new DnsRdata.Name(NAME))),
                        List.of()), Duration.ZERO));
            }
            if (n.equals(DnsName.of("loop", "test"))) {
                return List.of(new FakeDnsTransport.Reply(to, answer(q, 0, false, List.of(
                        DnsRecord.in(n, DnsType.CNAME, 60, new DnsRdata.Name(n))), List.of()), Duration.ZERO));
            }
            return addresses(to, q);
        });
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)));
        assertEquals(BOTH, resolve(r, "www.test"));
        assertEquals(4, t.asked.size(), "www.test then name.test, A and AAAA");
        assertEquals(2, r.stats().get("cname.chase"));
        ErrnoException loop = failure(r, "loop.test");
        assertEquals(Errno.ELOOP, loop.errno(), loop.getMessage());
    }

    @Test
    void answersThatDoNotMatchAreCountedAndIgnored() throws ErrnoException {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> {
            byte[] good = answer(q, 0, false, List.of(q.questions().get(0).type() == DnsType.A
                    ? DnsRecord.in(NAME, DnsType.A, 30, new DnsRdata.A(V4)) : DnsRecord.in(NAME, DnsType.AAAA, 30, V6)),
                    List.of());
            byte[] wrongId = good.clone();
            wrongId[1] ^= 1;
            DnsMessage other = DnsMessage.query(q.header().id(), DnsQuestion.in(DnsName.of("evil", "test"),
                    q.questions().get(0).type()), null);
            byte[] wrongQuestion = answer(other, 0, false, List.of(), List.of());
            byte[] hostile = good.clone();
            hostile[12] = (byte) 0xc0; // the question's name now points forward
            hostile[13] = (byte) 0x20;
            return List.of(new FakeDnsTransport.Reply(S2, good, Duration.ofMillis(1)),
                    new FakeDnsTransport.Reply(to, wrongId, Duration.ofMillis(2)),
                    new FakeDnsTransport.Reply(to, wrongQuestion, Duration.ofMillis(3)),
                    new FakeDnsTransport.Reply(to, hostile, Duration.ofMillis(4)),
                    new FakeDnsTransport.Reply(to, q.toBytes(), Duration.ofMillis(5)),
                    new FakeDnsTransport.Reply(to, good, Duration.ofMillis(6)));
        });
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)));
        assertEquals(BOTH, resolve(r, "name.test"));
        assertEquals(2, r.stats().get("answers.ignored.source"));
        assertEquals(4, r.stats().get("answers.ignored.id"), "a wrong ID, and the query itself (QR clear)");
        assertEquals(2, r.stats().get("answers.ignored.question"));
        assertEquals(2, r.stats().get("answers.refused.POINTER_FORWARD"));
    }

    @Test
    void servfailIsEagainAndRefusedIsEio() {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> List.of(new FakeDnsTransport.Reply(to,
                answer(q, to.equals(S1) ? DnsHeader.RCODE_SERVFAIL : DnsHeader.RCODE_REFUSED, false, List.of(),
                        List.of()), Duration.ZERO)));
        ErrnoException servfail = failure(resolver(t, DnsConfig.of(List.of(S1)).withTimeout(Duration.ofSeconds(1), 1)),
                "name.test");
        assertEquals(Errno.EAGAIN, servfail.errno(), servfail.getMessage());
        assertTrue(servfail.getMessage().contains("SERVFAIL"));
        ErrnoException refused = failure(resolver(t, DnsConfig.of(List.of(S2)).withTimeout(Duration.ofSeconds(1), 1)),
                "name.test");
        assertEquals(Errno.EIO, refused.errno(), refused.getMessage());
        assertTrue(refused.getMessage().contains("REFUSED"));
    }

    @Test
    void theSearchListIsTriedAsResolvConfDoes() throws ErrnoException {
        FakeDnsTransport t = new FakeDnsTransport(host, (to, q, tcp) -> addresses(to, q));
        DnsResolver r = resolver(t, DnsConfig.of(List.of(S1)).withSearch(List.of(DnsName.of("corp"),
                DnsName.of("test"))));
        assertEquals(BOTH, resolve(r, "name"));
        assertEquals(List.of("name.corp.", "name.test."), askedNames(t));
        t.asked.clear();
        // one dot (ndots 1): as given first
        assertEquals(Errno.ENOENT, failure(r, "no.where").errno());
        assertEquals(List.of("no.where.", "no.where.corp.", "no.where.test."), askedNames(t));
        t.asked.clear();
        assertEquals(Errno.ENOENT, failure(r, "name.").errno());
        assertEquals(List.of("name."), askedNames(t), "a final dot: no search");
        assertEquals(Errno.EINVAL, failure(r, "bad..name").errno());
    }

    private static List<String> askedNames(FakeDnsTransport t) {
        return t.asked.stream().filter(a -> a.query().questions().get(0).type() == DnsType.A)
                .map(a -> a.query().questions().get(0).name().toString()).toList();
    }

    @Test
    void theSameSeedGivesTheSameQueryIds() throws ErrnoException {
        List<Integer> ids = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            SimWorld w = new SimWorld(7);
            SimHost h = w.newHost("r");
            FakeDnsTransport t = new FakeDnsTransport(h, (to, q, tcp) -> addresses(to, q));
            CompletableFuture<List<InetAddress>> f = new DnsResolver(h, t, DnsConfig.of(List.of(S1))).resolve("name.test");
            h.scheduler().await(f);
            ids.add(t.asked.get(0).query().header().id());
        }
        assertEquals(ids.get(0), ids.get(1));
    }
}
