package io.jrump.host.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.HostScheduler.ScheduledTask;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SimWorldTest {
    private static final long US = 1_000L;
    private static final long MS = 1_000_000L;

    private final SimWorld world = new SimWorld(1);

    @Test
    void clocksStartAtOneSecondAndAtTheStartOf2026() {
        SimHost a = world.newHost("a");
        assertEquals(1_000_000_000L, a.clock().monotonicNanos());
        long wall = a.clock().wallNanos() - a.clock().monotonicNanos();
        assertEquals(Instant.parse("2026-01-01T00:00:00Z").getEpochSecond() * 1_000_000_000L, wall);
    }

    @Test
    void paramsNameTheHostAndTheSeed() {
        SimHost a = world.newHost("alpha");
        assertEquals("sim:alpha", a.name());
        assertEquals("alpha", a.params().hostname());
        assertEquals(1, a.params().ncpu());
        assertEquals("1", a.params().get(SimHost.SEED_PARAM).orElseThrow());
    }

    @Test
    void stepRunsOneEventAndMovesTheClockToIt() {
        SimHost a = world.newHost("a");
        List<Long> times = new ArrayList<>();
        long t0 = world.now();
        a.scheduler().executeAt(t0 + 5 * MS, () -> times.add(world.now()));
        a.scheduler().executeAt(t0 + 7 * MS, () -> times.add(world.now()));
        assertTrue(world.step());
        assertEquals(List.of(t0 + 5 * MS), times);
        assertTrue(world.step());
        assertFalse(world.step(), "nothing left");
        assertEquals(t0 + 7 * MS, world.now());
        assertEquals(2, world.eventCount());
    }

    @Test
    void runForRunsWhatIsDueAndThenSetsTheClock() {
        SimHost a = world.newHost("a");
        List<String> ran = new ArrayList<>();
        long t0 = world.now();
        a.scheduler().executeAt(t0 + 10 * MS, () -> ran.add("10"));
        a.scheduler().executeAt(t0 + 30 * MS, () -> ran.add("30"));
        world.runFor(Duration.ofMillis(20));
        assertEquals(List.of("10"), ran);
        assertEquals(t0 + 20 * MS, world.now());
        world.runFor(10 * MS);
        assertEquals(List.of("10", "30"), ran);
    }

    @Test
    void runUntilStopsAtItsVirtualLimitOrWhenNothingIsLeft() {
        SimHost a = world.newHost("a");
        long t0 = world.now();
        a.scheduler().executeAt(t0 + 2_000 * MS, () -> { });
        assertFalse(world.runUntil(() -> false, Duration.ofSeconds(1)));
        assertEquals(t0 + 1_000 * MS, world.now(), "time passed up to the limit");
        assertFalse(world.runUntil(() -> false, Duration.ofSeconds(10)));
        assertEquals(t0 + 2_000 * MS, world.now(), "the queue ran dry; time stays at the last event");
        assertTrue(world.runUntil(() -> true, Duration.ZERO));
    }

    @Test
    void runUntilIdleDrainsTheQueueOrComplainsAboutATimerThatNeverStops() {
        SimHost a = world.newHost("a");
        a.scheduler().executeAt(world.now() + 3 * MS, () -> { });
        world.runUntilIdle(Duration.ofSeconds(1));
        assertFalse(world.step());
        Runnable[] tick = new Runnable[1];
        tick[0] = () -> a.scheduler().executeAt(world.now() + MS, tick[0]);
        a.scheduler().execute(tick[0]);
        assertThrows(IllegalStateException.class, () -> world.runUntilIdle(Duration.ofSeconds(1)));
    }

    @Test
    void pastDeadlinesRunInDeadlineOrderAndNeverMoveTheClockBack() {
        SimHost a = world.newHost("a");
        world.runFor(Duration.ofSeconds(1));
        long now = world.now();
        List<String> order = new ArrayList<>();
        a.scheduler().executeAt(now - 5 * MS, () -> order.add("-5"));
        a.scheduler().executeAt(now - 9 * MS, () -> order.add("-9"));
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(List.of("-9", "-5"), order);
        assertEquals(now, world.now());
    }

    @Test
    void inEventLoopHoldsOnlyForTheHostWhoseTaskIsRunning() {
        SimHost a = world.newHost("a");
        SimHost b = world.newHost("b");
        List<Boolean> seen = new ArrayList<>();
        a.scheduler().execute(() -> {
            seen.add(a.scheduler().inEventLoop());
            seen.add(b.scheduler().inEventLoop());
        });
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(List.of(true, false), seen);
        assertFalse(a.scheduler().inEventLoop());
    }

    @Test
    void closingAHostDropsItsPendingTasksButNotOthers() {
        SimHost a = world.newHost("a");
        SimHost b = world.newHost("b");
        List<String> ran = new ArrayList<>();
        ScheduledTask t = a.scheduler().executeAt(world.now() + MS, () -> ran.add("a"));
        a.scheduler().execute(() -> ran.add("a now"));
        b.scheduler().executeAt(world.now() + MS, () -> ran.add("b"));
        a.close();
        assertFalse(t.cancel(), "a dropped task is no longer pending");
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(List.of("b"), ran);
        assertThrows(IllegalStateException.class, () -> a.scheduler().execute(() -> { }));
    }

    @Test
    void aHostMayCloseItselfFromItsOwnLoop() {
        SimHost a = world.newHost("a");
        List<String> ran = new ArrayList<>();
        a.scheduler().execute(() -> {
            a.scheduler().execute(() -> ran.add("after close"));
            a.close();
            ran.add("closing task finished");
        });
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(List.of("closing task finished"), ran);
    }

    @Test
    void aNameComesBackAfterItsHostClosedWithAFreshRandomStream() {
        SimHost first = world.newHost("a");
        assertThrows(IllegalArgumentException.class, () -> world.newHost("a"));
        byte[] one = new byte[16];
        first.random().nextBytes(one);
        first.close();
        byte[] two = new byte[16];
        world.newHost("a").random().nextBytes(two);
        assertFalse(java.util.Arrays.equals(one, two));
    }

    @Test
    void randomStreamsFollowTheSeedAndTheHostName() {
        assertArrayEquals(bytes(new SimWorld(5), "a"), bytes(new SimWorld(5), "a"));
        assertFalse(java.util.Arrays.equals(bytes(new SimWorld(5), "a"), bytes(new SimWorld(6), "a")));
        assertFalse(java.util.Arrays.equals(bytes(new SimWorld(5), "a"), bytes(new SimWorld(5), "b")));
        SimWorld w = new SimWorld(5);
        w.newHost("other");
        assertArrayEquals(bytes(new SimWorld(5), "a"), bytes(w, "a"), "another host does not shift a's stream");
    }

    private static byte[] bytes(SimWorld w, String host) {
        byte[] b = new byte[32];
        w.newHost(host).random().nextBytes(b);
        return b;
    }

    @Test
    void aTaskThatThrowsFailsTheDrivingCallAndLeavesLaterEventsQueued() {
        SimHost a = world.newHost("a");
        RuntimeException boom = new RuntimeException("boom");
        List<String> ran = new ArrayList<>();
        a.scheduler().executeAt(world.now() + MS, () -> {
            throw boom;
        });
        a.scheduler().executeAt(world.now() + 2 * MS, () -> ran.add("later"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> world.runUntil(() -> false, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().startsWith("simulated task failed at t=1.001000000"), e.getMessage());
        assertSame(boom, e.getCause());
        assertEquals(List.of(boom), world.failures());
        assertTrue(ran.isEmpty());
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(List.of("later"), ran);
    }

    @Test
    void callsFromAnotherThreadThrow() throws Exception {
        SimHost a = world.newHost("a");
        AtomicReference<Throwable> clock = new AtomicReference<>();
        AtomicReference<Throwable> execute = new AtomicReference<>();
        AtomicReference<Throwable> step = new AtomicReference<>();
        Thread t = new Thread(() -> {
            clock.set(caught(() -> a.clock().monotonicNanos()));
            execute.set(caught(() -> a.scheduler().execute(() -> { })));
            step.set(caught(world::step));
        });
        t.start();
        t.join();
        for (Throwable x : List.of(clock.get(), execute.get(), step.get())) {
            assertTrue(x instanceof IllegalStateException, String.valueOf(x));
            assertTrue(x.getMessage().startsWith("simulation driven from two threads"), x.getMessage());
        }
        assertFalse(world.step(), "nothing was queued by the other thread");
    }

    private static Throwable caught(Runnable r) {
        try {
            r.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    @Test
    void drivingFromInsideATaskIsRefused() {
        SimHost a = world.newHost("a");
        a.scheduler().execute(world::step);
        IllegalStateException e = assertThrows(IllegalStateException.class, world::step);
        assertTrue(e.getCause() instanceof IllegalStateException);
    }

    @Test
    void theTraceDigestFollowsTheRunWithoutBeingFinalizedAndTheTailIsBounded() {
        SimHost a = world.newHost("a");
        String before = world.traceHex();
        assertEquals(before, world.traceHex(), "reading the digest does not change it");
        assertEquals(64, before.length());
        for (int i = 0; i < 1500; i++) {
            a.scheduler().execute(() -> { });
        }
        world.runUntilIdle(Duration.ofSeconds(1));
        assertNotEquals(before, world.traceHex());
        assertEquals(1000, world.traceTail().size());
        assertTrue(world.traceTail().get(999).endsWith("sim:a task"), world.traceTail().get(999));
        a.console().log(System.Logger.Level.INFO, "hello");
        assertTrue(world.traceTail().get(999).endsWith("sim:a console INFO hello"));
    }
}
