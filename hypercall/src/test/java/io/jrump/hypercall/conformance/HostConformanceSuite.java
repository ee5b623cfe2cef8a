package io.jrump.hypercall.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostBlockDevice.IoCompletion;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.HostScheduler.ScheduledTask;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The host conformance kit: what every implementation of {@link Hypercalls} must do, as
 * {@code docs/hypercall.md} specifies it. A host's test subclasses this and supplies a
 * {@link HostFixture}; the same assertions then run against every host.
 */
public abstract class HostConformanceSuite {
    private static final Duration LIMIT = Duration.ofSeconds(10);
    private static final long MS = 1_000_000L;

    protected HostFixture fixture;
    protected Hypercalls host;
    private final List<Hypercalls> hosts = new ArrayList<>();

    /** A fresh fixture for one test. */
    protected abstract HostFixture newFixture() throws Exception;

    @BeforeEach
    void startHost() throws Exception {
        fixture = newFixture();
        host = newHost("a");
    }

    @AfterEach
    void stopHosts() throws Exception {
        for (Hypercalls h : hosts) {
            h.close();
        }
        fixture.close();
    }

    private Hypercalls newHost(String name) throws Exception {
        Hypercalls h = fixture.newHost(name);
        hosts.add(h);
        return h;
    }

    // ---- identity and params -------------------------------------------------------------------

    @Test
    void reportsTheContractVersionAndAName() {
        assertEquals(Hypercalls.VERSION, host.version());
        assertFalse(host.name().isBlank());
    }

    @Test
    void paramsGiveCpuCountAndHostname() {
        assertTrue(host.params().ncpu() >= 1);
        assertTrue(host.params().get("ncpu").isPresent());
        assertFalse(host.params().hostname().isBlank());
        assertTrue(host.params().get("no.such.parameter").isEmpty());
    }

    // ---- clock ---------------------------------------------------------------------------------

    @Test
    void monotonicClockNeverGoesBackwards() {
        long prev = host.clock().monotonicNanos();
        for (int i = 0; i < 10_000; i++) {
            long now = host.clock().monotonicNanos();
            assertTrue(now >= prev, "clock went from " + prev + " to " + now);
            prev = now;
        }
        List<Long> seen = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 20; i++) {
            host.scheduler().executeAt(host.clock().monotonicNanos() + i * MS,
                    () -> seen.add(host.clock().monotonicNanos()));
        }
        fixture.runUntil(() -> seen.size() == 20, LIMIT);
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i) >= seen.get(i - 1));
        }
    }

    @Test
    void wallClockIsAfter2020() {
        long wall = host.clock().wallNanos();
        assertTrue(wall > Instant.parse("2020-01-01T00:00:00Z").getEpochSecond() * 1_000_000_000L);
    }

    // ---- scheduler -----------------------------------------------------------------------------

    @Test
    void executeRunsTasksInSubmissionOrderOnTheEventLoop() {
        List<Integer> order = new CopyOnWriteArrayList<>();
        AtomicBoolean allOnLoop = new AtomicBoolean(true);
        for (int i = 0; i < 1000; i++) {
            int n = i;
            host.scheduler().execute(() -> {
                allOnLoop.compareAndSet(true, host.scheduler().inEventLoop());
                order.add(n);
            });
        }
        assertFalse(host.scheduler().inEventLoop(), "the test thread is not the event loop");
        fixture.runUntil(() -> order.size() == 1000, LIMIT);
        for (int i = 0; i < 1000; i++) {
            assertEquals(i, order.get(i));
        }
        assertTrue(allOnLoop.get(), "every task ran on the event loop");
    }

    @Test
    void executeFromTheEventLoopNeverRunsTheTaskInsideTheCall() {
        AtomicReference<String> result = new AtomicReference<>();
        host.scheduler().execute(() -> {
            AtomicBoolean innerRan = new AtomicBoolean();
            host.scheduler().execute(() -> innerRan.set(true));
            boolean ranInside = innerRan.get();
            host.scheduler().execute(() -> result.set(ranInside ? "nested" : (innerRan.get() ? "ok" : "lost")));
        });
        fixture.runUntil(() -> result.get() != null, LIMIT);
        assertEquals("ok", result.get());
    }

    @Test
    void deadlinesRunInDeadlineOrderThenSubmissionOrderAndNeverEarly() {
        long now = host.clock().monotonicNanos();
        long[] deadlines = {now + 30 * MS, now + 10 * MS, now + 20 * MS, now + 10 * MS, now + 5 * MS};
        String[] names = {"30", "10a", "20", "10b", "5"};
        List<String> order = new CopyOnWriteArrayList<>();
        List<String> early = new CopyOnWriteArrayList<>();
        for (int i = 0; i < deadlines.length; i++) {
            long d = deadlines[i];
            String name = names[i];
            ScheduledTask t = host.scheduler().executeAt(d, () -> {
                if (host.clock().monotonicNanos() < d) {
                    early.add(name);
                }
                order.add(name);
            });
            assertEquals(d, t.deadlineNanos());
        }
        fixture.runUntil(() -> order.size() == 5, LIMIT);
        assertEquals(List.of("5", "10a", "10b", "20", "30"), order);
        assertTrue(early.isEmpty(), "ran before their deadline: " + early);
    }

    @Test
    void aDeadlineInThePastRunsPromptly() {
        AtomicBoolean ran = new AtomicBoolean();
        host.scheduler().executeAt(host.clock().monotonicNanos() - 1_000 * MS, () -> ran.set(true));
        fixture.runUntil(ran::get, LIMIT);
    }

    @Test
    void cancelledTaskNeverRuns() {
        AtomicBoolean cancelledRan = new AtomicBoolean();
        AtomicBoolean laterRan = new AtomicBoolean();
        long now = host.clock().monotonicNanos();
        ScheduledTask t = host.scheduler().executeAt(now + 20 * MS, () -> cancelledRan.set(true));
        host.scheduler().executeAt(now + 40 * MS, () -> laterRan.set(true));
        assertTrue(t.cancel(), "a pending task cancels");
        assertFalse(t.cancel(), "a second cancel reports nothing pending");
        fixture.runUntil(laterRan::get, LIMIT);
        assertFalse(cancelledRan.get());
    }

    @Test
    void cancelAfterTheTaskRanReturnsFalse() {
        AtomicBoolean ran = new AtomicBoolean();
        ScheduledTask t = host.scheduler().executeAt(host.clock().monotonicNanos() + MS, () -> ran.set(true));
        fixture.runUntil(ran::get, LIMIT);
        assertFalse(t.cancel());
    }

    @Test
    void awaitReturnsWhatTheEventLoopCompletesAndRethrowsItsErrno() throws Exception {
        CompletableFuture<String> value = new CompletableFuture<>();
        host.scheduler().executeAt(host.clock().monotonicNanos() + 5 * MS, () -> value.complete("done"));
        assertEquals("done", host.scheduler().await(value));
        CompletableFuture<String> failure = new CompletableFuture<>();
        host.scheduler().execute(() -> failure.completeExceptionally(new ErrnoException(Errno.EIO, "medium")));
        ErrnoException e = assertThrows(ErrnoException.class, () -> host.scheduler().await(failure));
        assertEquals(Errno.EIO, e.errno());
        assertEquals("done", host.scheduler().await(CompletableFuture.completedFuture("done")));
    }

    @Test
    void awaitOnTheEventLoopFailsWithEdeadlk() {
        AtomicReference<Errno> seen = new AtomicReference<>();
        host.scheduler().execute(() -> {
            try {
                host.scheduler().await(new CompletableFuture<>());
                seen.set(Errno.EPERM); // must not get here
            } catch (ErrnoException e) {
                seen.set(e.errno());
            }
        });
        fixture.runUntil(() -> seen.get() != null, LIMIT);
        assertEquals(Errno.EDEADLK, seen.get());
    }

    @Test
    void closedHostRefusesTasksAndDeviceOpens() throws Exception {
        host.close();
        assertThrows(IllegalStateException.class, () -> host.scheduler().execute(() -> { }));
        assertThrows(IllegalStateException.class, () -> host.scheduler().executeAt(0, () -> { }));
        String name = fixture.newDeviceName("closed");
        assertErrno(Errno.ESHUTDOWN, () -> host.blockDevices().create(name, 4096));
        assertErrno(Errno.ESHUTDOWN, () -> host.networkInterfaces().open(fixture.linkName(),
                NicOptions.defaults(), f -> { }));
        host.close(); // idempotent
    }

    // ---- random --------------------------------------------------------------------------------

    @Test
    void randomBytesVary() {
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        host.random().nextBytes(a);
        host.random().nextBytes(b);
        assertFalse(Arrays.equals(a, b));
        assertFalse(Arrays.equals(a, new byte[32]));
        int bound = 10;
        boolean[] hit = new boolean[bound];
        for (int i = 0; i < 1000; i++) {
            hit[host.random().nextInt(bound)] = true;
        }
        for (boolean h : hit) {
            assertTrue(h, "nextInt covers its range");
        }
    }

    // ---- block devices -------------------------------------------------------------------------

    private record IoResult(long bytes, Errno error, boolean onEventLoop) {
    }

    private IoResult io(Hypercalls h, Consumer<IoCompletion> op) {
        AtomicReference<IoResult> r = new AtomicReference<>();
        AtomicBoolean returned = new AtomicBoolean();
        AtomicBoolean completedInside = new AtomicBoolean();
        Thread caller = Thread.currentThread();
        op.accept((bytes, error) -> {
            // On a threaded host the loop may finish before the call returns; that is fine, but
            // running the completion on the caller's own stack is not.
            if (!returned.get() && Thread.currentThread() == caller) {
                completedInside.set(true);
            }
            if (!r.compareAndSet(null, new IoResult(bytes, error, h.scheduler().inEventLoop()))) {
                throw new AssertionError("completion ran twice");
            }
        });
        returned.set(true);
        fixture.runUntil(() -> r.get() != null, LIMIT);
        assertFalse(completedInside.get(), "completion ran inside the call that started it");
        assertTrue(r.get().onEventLoop(), "completion ran on the event loop");
        return r.get();
    }

    private void ok(long expectedBytes, IoResult r) {
        assertNull(r.error(), "I/O failed");
        assertEquals(expectedBytes, r.bytes());
    }

    private void writeOk(HostBlockDevice dev, long offset, byte[] data) {
        ByteBuffer src = ByteBuffer.wrap(data);
        ok(data.length, io(host, c -> dev.write(offset, src, c)));
        assertEquals(0, src.position(), "write leaves the buffer position");
        assertEquals(data.length, src.limit());
    }

    private byte[] readOk(HostBlockDevice dev, long offset, int length) {
        // A direct buffer with a non-zero position, to check that positions are honoured.
        ByteBuffer dst = ByteBuffer.allocateDirect(length + 7).position(7);
        ok(length, io(host, c -> dev.read(offset, dst, c)));
        assertEquals(7, dst.position(), "read leaves the buffer position");
        byte[] out = new byte[length];
        dst.get(7, out);
        return out;
    }

    private static byte[] random(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    @Test
    void createdDeviceReadsAsZerosAndHasItsSize() throws Exception {
        HostBlockDevice dev = host.blockDevices().create(fixture.newDeviceName("zeros"), 1 << 20);
        assertEquals(1 << 20, dev.size());
        assertFalse(dev.isReadOnly());
        assertTrue(dev.sectorSize() >= 512 && Integer.bitCount(dev.sectorSize()) == 1);
        assertArrayEquals(new byte[70_000], readOk(dev, (1 << 20) - 70_000, 70_000));
        dev.close();
    }

    @Test
    void readsAndWritesRoundTripAtUnalignedOffsetsAndSizes() throws Exception {
        int size = (1 << 20) + 333;
        HostBlockDevice dev = host.blockDevices().create(fixture.newDeviceName("rw"), size);
        byte[] model = new byte[size];
        Random rnd = new Random(42);
        long[][] writes = {{0, 1}, {1, 4095}, {511, 1026}, {4095, 10_000}, {777_777, 65_537},
            {size - 5, 5}, {100_000, 300_000}};
        for (long[] w : writes) {
            byte[] data = random(rnd, (int) w[1]);
            writeOk(dev, w[0], data);
            System.arraycopy(data, 0, model, (int) w[0], data.length);
        }
        assertArrayEquals(model, readOk(dev, 0, size));
        assertArrayEquals(Arrays.copyOfRange(model, 3, 3 + 9999), readOk(dev, 3, 9999));
        ok(0, io(host, dev::flush));
        dev.close();
    }

    @Test
    void dataSurvivesCloseAndReopen() throws Exception {
        String name = fixture.newDeviceName("reopen");
        HostBlockDevice dev = host.blockDevices().create(name, 8192);
        byte[] data = random(new Random(1), 3000);
        writeOk(dev, 1000, data);
        ok(0, io(host, dev::flush));
        dev.close();
        HostBlockDevice again = host.blockDevices().open(name, OpenMode.READ_WRITE);
        assertEquals(8192, again.size());
        assertArrayEquals(data, readOk(again, 1000, 3000));
        again.close();
    }

    @Test
    void readingPastTheEndOrAtANegativeOffsetFailsWithEinval() throws Exception {
        HostBlockDevice dev = host.blockDevices().create(fixture.newDeviceName("end"), 4096);
        assertEquals(Errno.EINVAL, io(host, c -> dev.read(4090, ByteBuffer.allocate(10), c)).error());
        assertEquals(Errno.EINVAL, io(host, c -> dev.read(4097, ByteBuffer.allocate(0), c)).error());
        assertEquals(Errno.EINVAL, io(host, c -> dev.read(-1, ByteBuffer.allocate(1), c)).error());
        assertEquals(Errno.EINVAL, io(host, c -> dev.write(-512, ByteBuffer.allocate(1), c)).error());
        ok(0, io(host, c -> dev.read(4096, ByteBuffer.allocate(0), c)));
        assertEquals(Errno.EINVAL, io(host, c -> dev.read(0, ByteBuffer.allocate(8).asReadOnlyBuffer(), c)).error(),
                "reading into a read-only buffer");
        dev.close();
    }

    @Test
    void writesPastTheEndGrowAGrowableDeviceAndFailOthersWithEnospc() throws Exception {
        HostBlockDevice dev = host.blockDevices().create(fixture.newDeviceName("grow"), 4096);
        byte[] data = random(new Random(2), 100);
        IoResult r = io(host, c -> dev.write(8000, ByteBuffer.wrap(data), c));
        if (dev.isGrowable()) {
            ok(100, r);
            assertEquals(8100, dev.size());
            assertArrayEquals(new byte[8000 - 4096], readOk(dev, 4096, 8000 - 4096));
            assertArrayEquals(data, readOk(dev, 8000, 100));
        } else {
            assertEquals(Errno.ENOSPC, r.error());
            assertEquals(4096, dev.size());
        }
        dev.close();
    }

    @Test
    void readOnlyDeviceRefusesWritesWithErofs() throws Exception {
        String name = fixture.newDeviceName("ro");
        HostBlockDevice rw = host.blockDevices().create(name, 4096);
        writeOk(rw, 0, new byte[] {1, 2, 3});
        ok(0, io(host, rw::flush));
        rw.close();
        HostBlockDevice ro = host.blockDevices().open(name, OpenMode.READ_ONLY);
        assertTrue(ro.isReadOnly());
        assertEquals(Errno.EROFS, io(host, c -> ro.write(0, ByteBuffer.wrap(new byte[] {9}), c)).error());
        assertEquals(Errno.EROFS, io(host, c -> ro.discard(0, 4096, c)).error());
        assertArrayEquals(new byte[] {1, 2, 3}, readOk(ro, 0, 3));
        ro.close();
    }

    @Test
    void openingAMissingDeviceFailsWithEnoentAndCreatingAnExistingOneWithEexist() throws Exception {
        String name = fixture.newDeviceName("missing");
        assertErrno(Errno.ENOENT, () -> host.blockDevices().open(name, OpenMode.READ_ONLY));
        HostBlockDevice dev = host.blockDevices().create(name, 512);
        assertErrno(Errno.EEXIST, () -> host.blockDevices().create(name, 512));
        assertErrno(Errno.EINVAL, () -> host.blockDevices().create(fixture.newDeviceName("neg"), -1));
        dev.close();
    }

    @Test
    void discardZeroesTheRangeOrIsUnsupportedAndNeverTouchesNeighbours() throws Exception {
        HostBlockDevice dev = host.blockDevices().create(fixture.newDeviceName("discard"), 1 << 18);
        byte[] data = random(new Random(3), 1 << 18);
        writeOk(dev, 0, data);
        IoResult r = io(host, c -> dev.discard(4096, 65536 * 2, c));
        byte[] after = readOk(dev, 0, 1 << 18);
        if (r.error() == null) {
            assertEquals(65536 * 2, r.bytes());
            Arrays.fill(data, 4096, 4096 + 65536 * 2, (byte) 0);
        } else {
            assertEquals(Errno.EOPNOTSUPP, r.error());
        }
        assertArrayEquals(data, after);
        assertEquals(Errno.EINVAL, io(host, c -> dev.discard((1 << 18) - 10, 20, c)).error());
        dev.close();
    }

    @Test
    void closedDeviceFailsWithEbadfAndClosesTwiceHarmlessly() throws Exception {
        HostBlockDevice dev = host.blockDevices().create(fixture.newDeviceName("closed"), 4096);
        dev.close();
        assertEquals(Errno.EBADF, io(host, c -> dev.read(0, ByteBuffer.allocate(1), c)).error());
        assertEquals(Errno.EBADF, io(host, c -> dev.write(0, ByteBuffer.allocate(1), c)).error());
        assertEquals(Errno.EBADF, io(host, dev::flush).error());
        dev.close();
    }

    @Test
    void manyOperationsInFlightAllComplete() throws Exception {
        HostBlockDevice dev = host.blockDevices().create(fixture.newDeviceName("qd"), 64 * 4096);
        List<IoResult> done = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 64; i++) {
            byte[] b = new byte[4096];
            Arrays.fill(b, (byte) i);
            dev.write(i * 4096L, ByteBuffer.wrap(b), (n, e) -> done.add(new IoResult(n, e, true)));
        }
        fixture.runUntil(() -> done.size() == 64, LIMIT);
        done.forEach(r -> ok(4096, r));
        for (int i = 0; i < 64; i += 9) {
            byte[] expect = new byte[4096];
            Arrays.fill(expect, (byte) i);
            assertArrayEquals(expect, readOk(dev, i * 4096L, 4096));
        }
        dev.close();
    }

    // ---- network interfaces --------------------------------------------------------------------

    private static final class Port {
        final HostNic nic;
        final List<byte[]> received = new CopyOnWriteArrayList<>();
        final AtomicBoolean offLoop = new AtomicBoolean();
        final AtomicBoolean writable = new AtomicBoolean();

        Port(Hypercalls h, String link, NicOptions options) throws ErrnoException {
            nic = h.networkInterfaces().open(link, options, frame -> {
                if (!h.scheduler().inEventLoop()) {
                    offLoop.set(true);
                }
                if (!frame.isReadOnly()) {
                    writable.set(true);
                }
                byte[] b = new byte[frame.remaining()];
                frame.get(frame.position(), b);
                received.add(b);
            });
        }
    }

    private Port port(Hypercalls h) throws ErrnoException {
        return new Port(h, fixture.linkName(), NicOptions.defaults());
    }

    private static byte[] frame(MacAddress dst, MacAddress src, String payload) {
        byte[] p = payload.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(14 + Math.max(46, p.length));
        dst.write(b, 0);
        src.write(b, 6);
        b.putShort(12, (short) 0x88b5); // IEEE 802 local experimental EtherType
        b.put(14, p);
        return b.array();
    }

    private void send(Port from, MacAddress to, String payload) throws ErrnoException {
        from.nic.send(ByteBuffer.wrap(frame(to, from.nic.mac(), payload)));
    }

    @Test
    void nicsGetDistinctLocallyAdministeredUnicastAddressesAndTheDefaultMtu() throws Exception {
        Port a = port(host);
        Port b = port(newHost("b"));
        assertNotEquals(a.nic.mac(), b.nic.mac());
        for (Port p : List.of(a, b)) {
            assertFalse(p.nic.mac().isMulticast());
            assertTrue(p.nic.mac().isLocallyAdministered());
            assertEquals(NicOptions.DEFAULT_MTU, p.nic.mtu());
            assertEquals(fixture.linkName(), p.nic.name());
        }
    }

    @Test
    void broadcastReachesEveryOtherPortButNotTheSender() throws Exception {
        Port a = port(host);
        Port b = port(newHost("b"));
        Port c = port(newHost("c"));
        send(a, MacAddress.BROADCAST, "hello all");
        fixture.runUntil(() -> b.received.size() == 1 && c.received.size() == 1, LIMIT);
        assertArrayEquals(frame(MacAddress.BROADCAST, a.nic.mac(), "hello all"), b.received.get(0));
        fixture.settle();
        assertTrue(a.received.isEmpty(), "the sender does not hear itself");
        assertFalse(b.offLoop.get(), "frames are delivered on the receiver's event loop");
        assertFalse(b.writable.get(), "received frames are read-only");
    }

    @Test
    void unicastToALearnedAddressReachesOnlyThatPort() throws Exception {
        Port a = port(host);
        Port b = port(newHost("b"));
        Port c = port(newHost("c"));
        // Let the segment learn where c is, as any switch would.
        send(c, MacAddress.BROADCAST, "c is here");
        fixture.runUntil(() -> a.received.size() == 1 && b.received.size() == 1, LIMIT);
        send(a, c.nic.mac(), "to c only");
        fixture.runUntil(() -> c.received.size() == 1, LIMIT);
        assertArrayEquals(frame(c.nic.mac(), a.nic.mac(), "to c only"), c.received.get(0));
        fixture.settle();
        assertEquals(1, b.received.size(), "b saw only the broadcast");
    }

    @Test
    void theSendersBufferIsItsOwnAgainWhenSendReturns() throws Exception {
        Port a = port(host);
        Port b = port(newHost("b"));
        byte[] bytes = frame(MacAddress.BROADCAST, a.nic.mac(), "original");
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        a.nic.send(buf);
        assertEquals(0, buf.position());
        Arrays.fill(bytes, 14, bytes.length, (byte) 'X');
        fixture.runUntil(() -> b.received.size() == 1, LIMIT);
        assertArrayEquals(frame(MacAddress.BROADCAST, a.nic.mac(), "original"), b.received.get(0));
    }

    @Test
    void frameLengthsAreChecked() throws Exception {
        Port a = port(host);
        Port b = port(newHost("b"));
        assertErrno(Errno.EINVAL, () -> a.nic.send(ByteBuffer.allocate(13)));
        assertErrno(Errno.EMSGSIZE, () -> a.nic.send(ByteBuffer.allocate(a.nic.maxFrameLength() + 1)));
        ByteBuffer biggest = ByteBuffer.allocate(a.nic.maxFrameLength());
        MacAddress.BROADCAST.write(biggest, 0);
        a.nic.mac().write(biggest, 6);
        a.nic.send(biggest);
        fixture.runUntil(() -> b.received.size() == 1, LIMIT);
        assertEquals(a.nic.maxFrameLength(), b.received.get(0).length);
    }

    @Test
    void requestedMtuAndAddressAreHonoured() throws Exception {
        MacAddress mac = MacAddress.parse("02:00:c6:12:00:07");
        Port a = new Port(host, fixture.linkName(), new NicOptions(9000, mac));
        assertEquals(9000, a.nic.mtu());
        assertEquals(mac, a.nic.mac());
        assertEquals(9000 + 18, a.nic.maxFrameLength());
        assertErrno(Errno.EADDRINUSE, () -> newHost("b").networkInterfaces().open(fixture.linkName(),
                new NicOptions(0, mac), f -> { }));
    }

    @Test
    void aClosedNicReceivesNothingAndRefusesToSend() throws Exception {
        Port a = port(host);
        Port b = port(newHost("b"));
        Port c = port(newHost("c"));
        b.nic.close();
        b.nic.close();
        send(a, MacAddress.BROADCAST, "after close");
        fixture.runUntil(() -> c.received.size() == 1, LIMIT);
        fixture.settle();
        assertTrue(b.received.isEmpty());
        assertErrno(Errno.EBADF, () -> send(b, MacAddress.BROADCAST, "from the dead"));
    }

    @Test
    void framesBetweenTwoPortsArriveInOrder() throws Exception {
        Port a = port(host);
        Port b = port(newHost("b"));
        for (int i = 0; i < 200; i++) {
            send(a, MacAddress.BROADCAST, "frame " + i);
        }
        fixture.runUntil(() -> b.received.size() == 200, LIMIT);
        for (int i = 0; i < 200; i++) {
            assertArrayEquals(frame(MacAddress.BROADCAST, a.nic.mac(), "frame " + i), b.received.get(i));
        }
    }

    private interface ErrnoCall {
        void run() throws Exception;
    }

    private static void assertErrno(Errno expected, ErrnoCall call) {
        ErrnoException e = assertThrows(ErrnoException.class, call::run);
        assertEquals(expected, e.errno(), e.getMessage());
    }
}
