package io.jrump.host.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SimLinkTest {

    /** A NIC on link "lan" that records each frame's first payload int and arrival time. */
    private static final class Port {
        final SimHost host;
        final HostNic nic;
        final List<Integer> ids = new ArrayList<>();
        final List<Long> times = new ArrayList<>();

        Port(SimWorld world, String name, int mtu) throws ErrnoException {
            host = world.newHost(name);
            nic = host.networkInterfaces().open("lan", NicOptions.mtu(mtu), frame -> {
                ids.add(frame.getInt(frame.position() + 14));
                times.add(host.clock().monotonicNanos());
            });
        }

        Port(SimWorld world, String name) throws ErrnoException {
            this(world, name, 0);
        }

        void send(int id, int length) throws ErrnoException {
            ByteBuffer b = ByteBuffer.allocate(length);
            MacAddress.BROADCAST.write(b, 0);
            nic.mac().write(b, 6);
            b.putShort(12, (short) 0x88b5);
            b.putInt(14, id);
            nic.send(b);
        }

        void send(int id) throws ErrnoException {
            send(id, 60);
        }
    }

    private static List<Integer> range(int n) {
        List<Integer> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(i);
        }
        return l;
    }

    @Test
    void withoutFaultsFramesArriveInOrderAfterTheDefaultDelay() throws Exception {
        SimWorld world = new SimWorld(1);
        Port a = new Port(world, "a");
        Port b = new Port(world, "b");
        long t0 = world.now();
        for (int i = 0; i < 100; i++) {
            a.send(i);
        }
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(range(100), b.ids);
        assertEquals(t0 + SimLink.DEFAULT_DELAY_NANOS, b.times.get(99));
        assertEquals(100, world.link("lan").delivered());
    }

    @Test
    void lossOfOneDropsEveryFrame() throws Exception {
        SimWorld world = new SimWorld(1);
        Port a = new Port(world, "a");
        Port b = new Port(world, "b");
        world.link("lan").setLoss(1.0);
        for (int i = 0; i < 100; i++) {
            a.send(i);
        }
        world.runUntilIdle(Duration.ofSeconds(1));
        assertTrue(b.ids.isEmpty());
        assertEquals(100, world.link("lan").dropped(SimLink.Drop.LOSS));
    }

    @Test
    void duplicateOfOneDeliversEveryFrameTwice() throws Exception {
        SimWorld world = new SimWorld(1);
        Port a = new Port(world, "a");
        Port b = new Port(world, "b");
        world.link("lan").setDuplicate(1.0);
        for (int i = 0; i < 100; i++) {
            a.send(i);
        }
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(200, b.ids.size());
        assertEquals(100, world.link("lan").duplicated());
        assertEquals(range(100), b.ids.stream().distinct().sorted().toList());
    }

    @Test
    void reorderChangesTheOrderForSomeSeedButLosesNothing() throws Exception {
        int reordered = 0;
        for (long seed = 0; seed < 10; seed++) {
            SimWorld world = new SimWorld(seed);
            Port a = new Port(world, "a");
            Port b = new Port(world, "b");
            world.link("lan").setReorder(0.2);
            for (int i = 0; i < 50; i++) {
                a.send(i);
                world.runFor(100_000);
            }
            world.runUntilIdle(Duration.ofSeconds(1));
            assertEquals(range(50), b.ids.stream().sorted().toList());
            if (!b.ids.equals(range(50))) {
                reordered++;
            }
        }
        assertTrue(reordered > 0, "no seed reordered");
    }

    @Test
    void aPartitionDropsFramesAcrossItsSidesUntilHealed() throws Exception {
        SimWorld world = new SimWorld(1);
        Port a = new Port(world, "a");
        Port b = new Port(world, "b");
        Port c = new Port(world, "c");
        SimLink lan = world.link("lan");
        lan.partition(Set.of("a", "b"));
        a.send(1);
        c.send(2);
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(List.of(1), b.ids);
        assertTrue(c.ids.isEmpty());
        assertTrue(a.ids.isEmpty());
        assertEquals(3, lan.dropped(SimLink.Drop.PARTITION));
        lan.heal();
        a.send(3);
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(List.of(3), c.ids);
    }

    @Test
    void aRateLimitDelaysEachFrameBySizeOverRate() throws Exception {
        SimWorld world = new SimWorld(1);
        Port a = new Port(world, "a");
        Port b = new Port(world, "b");
        world.link("lan").setRate(1_000_000);
        long t0 = world.now();
        a.send(1, 1000);
        a.send(2, 1000);
        world.runUntilIdle(Duration.ofSeconds(1));
        long oneMs = 1_000_000;
        assertEquals(List.of(t0 + oneMs + SimLink.DEFAULT_DELAY_NANOS, t0 + 2 * oneMs + SimLink.DEFAULT_DELAY_NANOS),
                b.times);
    }

    @Test
    void framesBeyondThePerPortQueueBoundAreDroppedAndCounted() throws Exception {
        SimWorld world = new SimWorld(1);
        Port a = new Port(world, "a");
        Port b = new Port(world, "b");
        world.link("lan").setRate(60_000);
        for (int i = 0; i < SimLink.MAX_QUEUED_FRAMES + 100; i++) {
            a.send(i);
        }
        world.runUntilIdle(Duration.ofSeconds(10));
        assertEquals(SimLink.MAX_QUEUED_FRAMES, b.ids.size());
        assertEquals(100, world.link("lan").dropped(SimLink.Drop.QUEUE_FULL));
    }

    @Test
    void framesTooLongForTheReceiverAreDroppedForItAlone() throws Exception {
        SimWorld world = new SimWorld(1);
        Port a = new Port(world, "a", 9000);
        Port small = new Port(world, "small", 68);
        Port normal = new Port(world, "normal");
        a.send(1, 1500);
        world.runUntilIdle(Duration.ofSeconds(1));
        assertTrue(small.ids.isEmpty());
        assertEquals(List.of(1), normal.ids);
        assertEquals(1, world.link("lan").dropped(SimLink.Drop.TOO_LONG));
    }

    @Test
    void aFrameOnItsWayToANicThatClosesIsDropped() throws Exception {
        SimWorld world = new SimWorld(1);
        Port a = new Port(world, "a");
        Port b = new Port(world, "b");
        a.send(1);
        b.nic.close();
        world.runUntilIdle(Duration.ofSeconds(1));
        assertTrue(b.ids.isEmpty());
        assertEquals(1, world.link("lan").dropped(SimLink.Drop.CLOSED));
        assertEquals(1, world.link("lan").portCount());
    }

    @Test
    void jitterAndDelayComeFromTheSeed() throws Exception {
        List<Long> first = jittered(11);
        assertEquals(first, jittered(11));
        assertNotEquals(first, jittered(12));
    }

    private static List<Long> jittered(long seed) throws Exception {
        SimWorld world = new SimWorld(seed);
        Port a = new Port(world, "a");
        Port b = new Port(world, "b");
        world.link("lan").setDelay(50_000, 20_000);
        for (int i = 0; i < 20; i++) {
            a.send(i);
        }
        world.runUntilIdle(Duration.ofSeconds(1));
        for (long t : b.times) {
            assertTrue(t >= SimWorld.START_NANOS + 50_000 && t <= SimWorld.START_NANOS + 70_000, "arrival " + t);
        }
        return b.times;
    }
}
