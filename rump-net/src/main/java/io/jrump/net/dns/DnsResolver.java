package io.jrump.net.dns;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostScheduler;
import io.jrump.hypercall.Hypercalls;
import io.netty.buffer.Unpooled;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A stub resolver (RFC 1035 §7, RFC 1123 §6.1.3): asks recursive name servers for the A and AAAA
 * records of a name through a {@link DnsTransport}, with time, timers and randomness from the
 * host. Per query: a random 16-bit ID and a fresh socket on a random port (RFC 5452); an answer
 * counts only if it comes from the server asked, with the query's ID and question (otherwise it
 * is counted and ignored, and the wait goes on); a try times out after {@link DnsConfig#timeout()},
 * then the next server is asked, the list {@link DnsConfig#attempts()} times; a truncated answer
 * (TC) is asked again over TCP with two-byte length framing (RFC 7766). Answers are cached for
 * their TTL, negative ones for the SOA's (RFC 2308); CNAME chains are followed up to
 * {@link DnsConfig#maxCnames()}.
 *
 * <p>{@link #resolve} may be called from any thread; everything else runs on the host's event
 * loop. Failures, as getaddrinfo's EAI codes would be:
 * <ul>
 *   <li>{@link Errno#ENOENT} "name not found (NXDOMAIN)" — EAI_NONAME: no candidate name exists;</li>
 *   <li>{@link Errno#ENODATA} "no A or AAAA records" — EAI_NODATA: a name exists, without addresses;</li>
 *   <li>{@link Errno#ETIMEDOUT} — EAI_AGAIN: no server answered in time;</li>
 *   <li>{@link Errno#EAGAIN} "server failure (SERVFAIL)" — EAI_AGAIN: the servers could not answer now;</li>
 *   <li>{@link Errno#EIO} — EAI_FAIL: the servers refused (REFUSED, NOTIMP, FORMERR or another RCODE),
 *       or TCP failed;</li>
 *   <li>{@link Errno#ELOOP} — a CNAME chain longer than {@link DnsConfig#maxCnames()};</li>
 *   <li>{@link Errno#EINVAL} — not a valid name.</li>
 * </ul>
 */
public final class DnsResolver {
    private static final int TCP_PREFIX = 2;

    private final Hypercalls host;
    private final HostScheduler scheduler;
    private final DnsTransport transport;
    private final DnsConfig config;
    private final DnsCache cache;
    private final Map<String, Long> stats = new ConcurrentHashMap<>();

    public DnsResolver(Hypercalls host, DnsTransport transport, DnsConfig config) {
        this.host = Objects.requireNonNull(host, "host");
        this.scheduler = host.scheduler();
        this.transport = Objects.requireNonNull(transport, "transport");
        this.config = Objects.requireNonNull(config, "config");
        this.cache = new DnsCache(config.cacheEntries());
    }

    public DnsConfig config() {
        return config;
    }

    /**
     * The IPv4 (A) then IPv6 (AAAA) addresses of {@code name}, trying the search list as
     * resolv.conf does; completes on the event loop, exceptionally with an {@link ErrnoException}
     * as the class comment lists. The addresses are built from bytes, never looked up.
     */
    public CompletableFuture<List<InetAddress>> resolve(String name) {
        Objects.requireNonNull(name, "name");
        CompletableFuture<List<InetAddress>> result = new CompletableFuture<>();
        scheduler.execute(() -> {
            try {
                List<DnsName> candidates = candidates(DnsName.parse(name), name.endsWith("."));
                tryCandidate(candidates, 0, false, result);
            } catch (ErrnoException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /** Counters: queries, timeouts, answers ignored by why, answers refused by {@link DnsFormatError}. */
    public Map<String, Long> stats() {
        return new TreeMap<>(stats);
    }

    /** Forgets every cached answer (on the event loop). */
    public void flushCache() {
        scheduler.execute(cache::clear);
    }

    private void count(String what) {
        stats.merge(what, 1L, Long::sum);
    }

    /** resolv.conf's order: names with at least ndots dots as given first, then with each search domain. */
    private List<DnsName> candidates(DnsName name, boolean absolute) {
        List<DnsName> out = new ArrayList<>();
        if (absolute || config.search().isEmpty()) {
            out.add(name);
            return out;
        }
        boolean asIsFirst = name.labels().size() - 1 >= config.ndots();
        if (asIsFirst) {
            out.add(name);
        }
        for (DnsName domain : config.search()) {
            try {
                out.add(name.append(domain));
            } catch (ErrnoException tooLong) {
                // a search domain that makes the name too long is skipped, as glibc does
            }
        }
        if (!asIsFirst) {
            out.add(name);
        }
        return out;
    }

    private void tryCandidate(List<DnsName> candidates, int i, boolean sawNoData,
            CompletableFuture<List<InetAddress>> result) {
        if (i == candidates.size()) {
            DnsName last = candidates.get(candidates.size() - 1);
            result.completeExceptionally(sawNoData
                    ? new ErrnoException(Errno.ENODATA, "DNS " + last + ": no A or AAAA records")
                    : new ErrnoException(Errno.ENOENT, "DNS " + last + ": name not found (NXDOMAIN)"));
            return;
        }
        DnsName name = candidates.get(i);
        CompletableFuture<DnsCache.Outcome> a = lookup(name, DnsType.A, config.maxCnames());
        CompletableFuture<DnsCache.Outcome> aaaa = lookup(name, DnsType.AAAA, config.maxCnames());
        CompletableFuture.allOf(a, aaaa).whenComplete((ignored, failure) -> {
            List<InetAddress> addresses = new ArrayList<>();
            addresses.addAll(addressesOf(a));
            addresses.addAll(addressesOf(aaaa));
            if (!addresses.isEmpty()) {
                result.complete(List.copyOf(addresses));
                return;
            }
            ErrnoException error = errorOf(a) != null ? errorOf(a) : errorOf(aaaa);
            if (error != null) {
                result.completeExceptionally(error);
                return;
            }
            boolean noData = a.join() instanceof DnsCache.NoData || aaaa.join() instanceof DnsCache.NoData;
            tryCandidate(candidates, i + 1, sawNoData || noData, result);
        });
    }

    private static List<InetAddress> addressesOf(CompletableFuture<DnsCache.Outcome> f) {
        if (f.isCompletedExceptionally() || !(f.join() instanceof DnsCache.Found found)) {
            return List.of();
        }
        List<InetAddress> out = new ArrayList<>();
        for (DnsRdata d : found.addresses()) {
            try {
                if (d instanceof DnsRdata.A a) {
                    int v = a.address().bits();
                    out.add(InetAddress.getByAddress(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16),
                        (byte) (v >>> 8), (byte) v}));
                } else if (d instanceof DnsRdata.Aaaa six) {
                    out.add(Inet6Address.getByAddress(null, six.bytes(), -1));
                }
            } catch (UnknownHostException e) {
                throw new AssertionError("an address of the right length", e);
            }
        }
        return out;
    }

    private static ErrnoException errorOf(CompletableFuture<DnsCache.Outcome> f) {
        if (!f.isCompletedExceptionally()) {
            return null;
        }
        try {
            f.join();
            return null;
        } catch (java.util.concurrent.CompletionException e) {
            return e.getCause() instanceof ErrnoException ee ? ee
                    : new ErrnoException(Errno.EIO, "DNS lookup failed: " + e.getCause(), e.getCause());
        } catch (java.util.concurrent.CancellationException e) {
            return new ErrnoException(Errno.ECANCELED, "DNS lookup cancelled");
        }
    }

    // ---- one (name, type): cache, exchange, CNAME chain --------------------------------------------

    private CompletableFuture<DnsCache.Outcome> lookup(DnsName name, int type, int cnamesLeft) {
        long now = host.clock().monotonicNanos();
        DnsCache.Outcome cached = cache.get(name, type, now);
        if (cached != null) {
            count(cached instanceof DnsCache.Found ? "cache.hit" : "cache.hit.negative");
            return CompletableFuture.completedFuture(cached);
        }
        CompletableFuture<DnsCache.Outcome> result = new CompletableFuture<>();
        new Exchange(DnsQuestion.in(name, type), result, cnamesLeft).next();
        return result;
    }

    /** What one answer says about (name, type): an outcome and its TTL, or a CNAME target still to ask. */
    private record Reading(DnsCache.Outcome outcome, long ttlSeconds, DnsName chaseTarget, int cnamesUsed) {}

    private Reading read(DnsMessage answer, DnsName name, int type, int cnamesLeft) throws ErrnoException {
        DnsName current = name;
        long ttl = Long.MAX_VALUE;
        int used = 0;
        while (true) {
            List<DnsRdata> found = new ArrayList<>();
            long foundTtl = Long.MAX_VALUE;
            DnsRecord cname = null;
            for (DnsRecord r : answer.answers()) {
                if (r.rclass() != DnsType.CLASS_IN || !r.name().equalsIgnoreCase(current)) {
                    continue;
                }
                if (r.type() == type) {
                    found.add(r.data());
                    foundTtl = Math.min(foundTtl, r.effectiveTtl());
                } else if (r.type() == DnsType.CNAME && cname == null) {
                    cname = r;
                }
            }
            if (!found.isEmpty()) {
                return new Reading(new DnsCache.Found(found), Math.min(ttl, foundTtl), null, used);
            }
            if (cname == null) {
                break;
            }
            if (++used > cnamesLeft) {
                throw new ErrnoException(Errno.ELOOP, "DNS " + name + ": CNAME chain longer than "
                        + config.maxCnames());
            }
            ttl = Math.min(ttl, cname.effectiveTtl());
            current = ((DnsRdata.Name) cname.data()).name();
        }
        long negative = negativeTtl(answer);
        if (answer.rcode() == DnsHeader.RCODE_NXDOMAIN) {
            return new Reading(new DnsCache.NoSuchName(), Math.min(ttl, negative), null, used);
        }
        if (used > 0 && !hasSoa(answer)) {
            // The chain ends at a name the server said nothing about: ask for it.
            return new Reading(null, ttl, current, used);
        }
        return new Reading(new DnsCache.NoData(), Math.min(ttl, negative), null, used);
    }

    private static boolean hasSoa(DnsMessage answer) {
        return answer.authorities().stream().anyMatch(r -> r.type() == DnsType.SOA);
    }

    /** RFC 2308 §5: the lesser of the SOA record's TTL and its MINIMUM; without an SOA, not cached. */
    private static long negativeTtl(DnsMessage answer) {
        for (DnsRecord r : answer.authorities()) {
            if (r.type() == DnsType.SOA && r.data() instanceof DnsRdata.Soa soa) {
                return Math.min(r.effectiveTtl(), soa.minimum());
            }
        }
        return 0;
    }

    private void settle(DnsQuestion q, DnsMessage answer, int cnamesLeft, CompletableFuture<DnsCache.Outcome> result) {
        Reading reading;
        try {
            reading = read(answer, q.name(), q.type(), cnamesLeft);
        } catch (ErrnoException e) {
            result.completeExceptionally(e);
            return;
        }
        long now = host.clock().monotonicNanos();
        if (reading.chaseTarget() != null) {
            count("cname.chase");
            lookup(reading.chaseTarget(), q.type(), cnamesLeft - reading.cnamesUsed()).whenComplete((o, e) -> {
                if (e != null) {
                    result.completeExceptionally(e instanceof java.util.concurrent.CompletionException ? e.getCause() : e);
                    return;
                }
                // The chain's own records bound how long the outcome holds for the first name; the
                // target's TTL is not known here, so keep it no longer than the chain's.
                cache.put(q.name(), q.type(), o, host.clock().monotonicNanos(), cap(reading.ttlSeconds(), o));
                result.complete(o);
            });
            return;
        }
        cache.put(q.name(), q.type(), reading.outcome(), now, cap(reading.ttlSeconds(), reading.outcome()));
        result.complete(reading.outcome());
    }

    private long cap(long ttlSeconds, DnsCache.Outcome outcome) {
        long capNanos = (outcome instanceof DnsCache.Found ? config.maxTtl() : config.maxNegativeTtl()).toNanos();
        if (ttlSeconds <= 0) {
            return 0;
        }
        return ttlSeconds >= capNanos / 1_000_000_000L ? capNanos : ttlSeconds * 1_000_000_000L;
    }

    // ---- the exchange with the servers ----------------------------------------------------------------

    /** One question asked of the servers in turn until one answers it, or the tries run out. */
    private final class Exchange {
        private final DnsQuestion question;
        private final CompletableFuture<DnsCache.Outcome> result;
        private final int cnamesLeft;
        private int attempt;
        private int serverIndex;
        private ErrnoException error;
        private Try current;

        Exchange(DnsQuestion question, CompletableFuture<DnsCache.Outcome> result, int cnamesLeft) {
            this.question = question;
            this.result = result;
            this.cnamesLeft = cnamesLeft;
        }

        /** Starts the next try, or fails with the most telling error so far. */
        void next() {
            if (serverIndex == config.servers().size()) {
                serverIndex = 0;
                attempt++;
            }
            if (attempt >= config.attempts()) {
                result.completeExceptionally(error != null ? error : new ErrnoException(Errno.ETIMEDOUT,
                        "DNS " + question + ": no answer from " + config.servers() + " after " + config.attempts()
                                + " attempts of " + config.timeout().toMillis() + " ms"));
                return;
            }
            current = new Try(config.servers().get(serverIndex++));
            current.start();
        }

        void failed(ErrnoException e) {
            // A server's answer says more than a timeout: keep it over one.
            if (error == null || e.errno() != Errno.ETIMEDOUT) {
                error = e;
            }
            next();
        }

        void answered(DnsMessage answer, DnsServer server) {
            int rcode = answer.rcode();
            if (rcode == DnsHeader.RCODE_NOERROR || rcode == DnsHeader.RCODE_NXDOMAIN) {
                settle(question, answer, cnamesLeft, result);
                return;
            }
            count("answers.rcode." + rcode);
            failed(rcode == DnsHeader.RCODE_SERVFAIL
                    ? new ErrnoException(Errno.EAGAIN, "DNS " + question + ": server failure (SERVFAIL) from " + server)
                    : new ErrnoException(Errno.EIO, "DNS " + question + ": " + rcodeName(rcode) + " from " + server));
        }

        /** One query to one server: over UDP, then over TCP if the answer was truncated. */
        private final class Try {
            private final DnsServer server;
            private final int id = host.random().nextInt(0x10000);
            private final byte[] query;
            private DnsTransport.UdpSocket udp;
            private DnsTransport.TcpConnection tcp;
            private HostScheduler.ScheduledTask timer;
            private int tcpPrefix;
            private int tcpFilled;
            private byte[] tcpMessage;
            private boolean over;

            Try(DnsServer server) {
                this.server = server;
                Edns edns = config.udpPayloadSize() == 0 ? null : Edns.of(config.udpPayloadSize());
                this.query = DnsMessage.query(id, question, edns).toBytes();
            }

            void start() {
                arm();
                try {
                    udp = transport.openUdp(this::onDatagram);
                    count("queries.udp");
                    udp.send(server, query);
                } catch (ErrnoException e) {
                    end();
                    failed(e);
                }
            }

            private void arm() {
                if (timer != null) {
                    timer.cancel();
                }
                timer = scheduler.executeAt(host.clock().monotonicNanos() + config.timeout().toNanos(), () -> {
                    if (!over) {
                        count("timeouts");
                        end();
                        failed(new ErrnoException(Errno.ETIMEDOUT, "DNS " + question + ": no answer from " + server
                                + " within " + config.timeout().toMillis() + " ms"));
                    }
                });
            }

            private void end() {
                over = true;
                if (timer != null) {
                    timer.cancel();
                }
                if (udp != null) {
                    udp.close();
                }
                if (tcp != null) {
                    tcp.close();
                }
            }

            private void onDatagram(DnsTransport.Datagram d) {
                if (over || udp == null) {
                    return; // a datagram the transport had queued before the socket was closed for TCP
                }
                if (!d.source().equals(server)) {
                    count("answers.ignored.source");
                    return;
                }
                DnsMessage answer = check(d.payload());
                if (answer == null) {
                    return;
                }
                if (answer.header().truncated()) {
                    count("tcp.fallback");
                    udp.close();
                    udp = null;
                    startTcp();
                    return;
                }
                end();
                answered(answer, server);
            }

            /** The answer if it parses and matches the query; null (counted) otherwise. */
            private DnsMessage check(byte[] payload) {
                DnsMessage answer;
                try {
                    answer = DnsMessage.parse(Unpooled.wrappedBuffer(payload));
                } catch (DnsFormatException e) {
                    count("answers.refused." + e.reason());
                    return null;
                }
                DnsHeader h = answer.header();
                if (!h.response() || h.id() != id || h.opcode() != DnsHeader.OPCODE_QUERY) {
                    count("answers.ignored.id");
                    return null;
                }
                if (answer.questions().size() != 1 || !answer.questions().get(0).matches(question)) {
                    count("answers.ignored.question");
                    return null;
                }
                return answer;
            }

            private void startTcp() {
                arm();
                try {
                    tcp = transport.openTcp(server, this::onTcpBytes, this::onTcpClosed);
                    count("queries.tcp");
                    byte[] framed = new byte[TCP_PREFIX + query.length];
                    framed[0] = (byte) (query.length >>> 8);
                    framed[1] = (byte) query.length;
                    System.arraycopy(query, 0, framed, TCP_PREFIX, query.length);
                    tcp.send(framed);
                } catch (ErrnoException e) {
                    end();
                    failed(new ErrnoException(e.errno(), "DNS " + question + ": TCP to " + server + ": " + e.detail()));
                }
            }

            /** Gathers one length-prefixed message (at most 65535 bytes, allocated once); bytes after it are ignored. */
            private void onTcpBytes(byte[] chunk) {
                int used = 0;
                while (!over && used < chunk.length) {
                    if (tcpMessage == null) {
                        tcpPrefix = tcpPrefix << 8 | (chunk[used++] & 0xff);
                        if (++tcpFilled == TCP_PREFIX) {
                            if (tcpPrefix < DnsPacket.HEADER_LENGTH) {
                                end();
                                failed(new ErrnoException(Errno.EIO, "DNS " + question + ": TCP length prefix "
                                        + tcpPrefix + " from " + server + " is shorter than a header"));
                                return;
                            }
                            tcpMessage = new byte[tcpPrefix];
                            tcpFilled = 0;
                        }
                        continue;
                    }
                    int take = Math.min(tcpMessage.length - tcpFilled, chunk.length - used);
                    System.arraycopy(chunk, used, tcpMessage, tcpFilled, take);
                    tcpFilled += take;
                    used += take;
                    if (tcpFilled == tcpMessage.length) {
                        DnsMessage answer = check(tcpMessage);
                        end();
                        if (answer == null) {
                            failed(new ErrnoException(Errno.EIO, "DNS " + question + ": unusable answer over TCP from "
                                    + server));
                        } else {
                            answered(answer, server);
                        }
                    }
                }
            }

            private void onTcpClosed(ErrnoException e) {
                if (over) {
                    return;
                }
                end();
                failed(new ErrnoException(e == null ? Errno.EIO : e.errno(), "DNS " + question + ": TCP from " + server
                        + " closed before a whole answer" + (e == null ? "" : ": " + e.detail())));
            }
        }
    }

    private static String rcodeName(int rcode) {
        return switch (rcode) {
            case DnsHeader.RCODE_FORMERR -> "format error (FORMERR)";
            case DnsHeader.RCODE_NOTIMP -> "not implemented (NOTIMP)";
            case DnsHeader.RCODE_REFUSED -> "refused (REFUSED)";
            default -> "RCODE " + rcode;
        };
    }
}
