package io.jrump.host.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The same seed and driving replay the same run, to the last trace line; another seed does not. */
class DeterminismTest {

    private record Run(String traceHex, long events, long delivered, long dropped) {
    }

    @Test
    void theSameSeedReplaysAndAnotherSeedDiverges() throws Exception {
        Run first = scenario(7);
        Run second = scenario(7);
        assertEquals(first, second);
        assertNotEquals(first.traceHex(), scenario(8).traceHex());
        assertTrue(first.events() > 500, "the scenario did something: " + first);
        assertTrue(first.delivered() > 0 && first.dropped() > 0, first.toString());
    }

    /** Three hosts chatter on a faulty link on random timers; one writes a disk that loses power. */
    private static Run scenario(long seed) throws Exception {
        SimWorld world = new SimWorld(seed);
        SimLink lan = world.link("lan");
        lan.setLoss(0.1);
        lan.setDuplicate(0.05);
        lan.setReorder(0.2);
        lan.setDelay(20_000, 5_000);
        for (String name : List.of("a", "b", "c")) {
            chatter(world.newHost(name));
        }
        SimHost store = world.newHost("store");
        HostBlockDevice disk = store.blockDevices().create("d", 1 << 20);
        world.disk("d").orElseThrow().setTornWrites(true);
        writer(store, disk, 0);
        world.runFor(Duration.ofMillis(30));
        world.disk("d").orElseThrow().powerCut();
        HostBlockDevice again = store.blockDevices().open("d", OpenMode.READ_ONLY);
        for (int i = 0; i < 8; i++) {
            again.read(i * 4096L, ByteBuffer.allocate(4096), (n, e) ->
                    store.console().log(Level.DEBUG, "read " + n + " " + e));
        }
        world.runUntilIdle(Duration.ofSeconds(10));
        return new Run(world.traceHex(), world.eventCount(), lan.delivered(), lan.dropped());
    }

    private static void chatter(SimHost host) throws ErrnoException {
        HostNic nic = host.networkInterfaces().open("lan", NicOptions.defaults(),
                frame -> host.console().log(Level.DEBUG, "got " + frame.getInt(frame.position() + 14)));
        for (int i = 0; i < 40; i++) {
            int id = i;
            long delay = 1_000L * host.random().nextInt(20_000);
            host.scheduler().executeAt(host.clock().monotonicNanos() + delay, () -> {
                ByteBuffer b = ByteBuffer.allocate(60 + host.random().nextInt(200));
                MacAddress.BROADCAST.write(b, 0);
                nic.mac().write(b, 6);
                b.putInt(14, id);
                try {
                    nic.send(b);
                } catch (ErrnoException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    /** Writes random blocks at random places, flushing after every third, until the power goes. */
    private static void writer(SimHost host, HostBlockDevice disk, int n) {
        byte[] block = new byte[4096 + host.random().nextInt(4096)];
        host.random().nextBytes(block);
        long offset = 512L * host.random().nextInt(1500);
        disk.write(offset, ByteBuffer.wrap(block), (bytes, error) -> {
            if (error != null) {
                return;
            }
            if (n % 3 == 2) {
                disk.flush((x, e) -> { });
            }
            host.scheduler().executeAt(host.clock().monotonicNanos() + 200_000, () -> writer(host, disk, n + 1));
        });
    }
}
