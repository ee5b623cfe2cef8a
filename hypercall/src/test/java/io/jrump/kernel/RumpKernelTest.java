package io.jrump.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.NicOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RumpKernelTest {
    private final List<String> events = new ArrayList<>();

    /** A component that logs its start and stop and can be told to fail. */
    private class Recorder implements Component {
        final String name;
        final Set<String> deps;
        boolean failStart;
        RumpKernel kernel;

        Recorder(String name, String... deps) {
            this.name = name;
            this.deps = Set.of(deps);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Set<String> dependencies() {
            return deps;
        }

        @Override
        public void start(RumpKernel k) throws ErrnoException {
            if (failStart) {
                throw new ErrnoException(Errno.ENXIO, name + " found no device");
            }
            kernel = k;
            events.add("start " + name);
        }

        @Override
        public void stop() {
            events.add("stop " + name);
        }
    }

    private static BootOptions with(Component... cs) {
        return BootOptions.defaults().withComponentInstances(List.of(cs));
    }

    @Test
    void startsComponentsInDependencyOrderAndStopsThemInReverse() throws Exception {
        ManualHost host = new ManualHost();
        Recorder fs = new Recorder("fs", "blk");
        Recorder blk = new Recorder("blk");
        Recorder net = new Recorder("net");
        RumpKernel k = RumpKernel.boot(host, with(fs, net, blk).withName("k1"));
        assertEquals(RumpKernel.State.RUNNING, k.state());
        assertEquals(List.of("start blk", "start fs", "start net"), events);
        assertSame(fs, k.component(Recorder.class).filter(r -> r.name.equals("fs")).orElse(fs));
        assertSame(k, blk.kernel);
        k.close();
        assertEquals(List.of("start blk", "start fs", "start net", "stop net", "stop fs", "stop blk"), events);
        assertEquals(RumpKernel.State.SHUT_DOWN, k.state());
        assertTrue(host.closed, "closing the kernel closes its host");
        k.close(); // idempotent
        assertEquals(6, events.size());
    }

    @Test
    void bootsOnlyTheComponentsAskedForAndTheirDependencies() throws Exception {
        RumpKernel k = RumpKernel.boot(new ManualHost(), with(new Recorder("fs", "blk"), new Recorder("blk"),
                new Recorder("net")).withComponents("fs"));
        assertEquals(List.of("start blk", "start fs"), events);
        k.close();
    }

    @Test
    void aFailedStartStopsWhatStartedAndClosesTheHost() {
        ManualHost host = new ManualHost();
        Recorder bad = new Recorder("fs", "blk");
        bad.failStart = true;
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> RumpKernel.boot(host, with(bad, new Recorder("blk"))));
        assertEquals(Errno.ENXIO, e.errno());
        assertEquals(List.of("start blk", "stop blk"), events);
        assertTrue(host.closed);
    }

    @Test
    void refusesAHostOfAnotherHypercallVersion() {
        ManualHost host = new ManualHost();
        host.version = 99;
        ErrnoException e = assertThrows(ErrnoException.class, () -> RumpKernel.boot(host, with()));
        assertEquals(Errno.ENOSYS, e.errno());
        assertTrue(e.getMessage().contains("version 99"), e.getMessage());
        assertTrue(host.closed);
    }

    @Test
    void closesTheDevicesComponentsLeftOpen() throws Exception {
        ManualHost host = new ManualHost();
        RumpKernel k = RumpKernel.boot(host, with());
        HostBlockDevice kept = k.host().blockDevices().open("d0", OpenMode.READ_ONLY);
        HostBlockDevice closedEarly = k.host().blockDevices().create("d1", 0);
        k.host().networkInterfaces().open("sw0", NicOptions.defaults(), f -> { });
        closedEarly.close();
        assertEquals(2, k.openDeviceCount());
        k.close();
        assertEquals(0, k.openDeviceCount());
        assertTrue(host.devices.stream().allMatch(d -> d.closed));
        assertTrue(kept.isReadOnly());
        ErrnoException e = assertThrows(ErrnoException.class, () -> k.host().blockDevices().open("d2",
                OpenMode.READ_ONLY));
        assertEquals(Errno.ESHUTDOWN, e.errno());
    }

    @Test
    void kernelsShareNothing() throws Exception {
        ManualHost h1 = new ManualHost();
        ManualHost h2 = new ManualHost();
        RumpKernel k1 = RumpKernel.boot(h1, with(new Recorder("net")).withName("one"));
        RumpKernel k2 = RumpKernel.boot(h2, with(new Recorder("net")).withName("two"));
        k1.host().blockDevices().create("d", 0);
        assertEquals(1, k1.openDeviceCount());
        assertEquals(0, k2.openDeviceCount());
        k1.close();
        assertEquals(RumpKernel.State.RUNNING, k2.state());
        assertFalse(h2.closed);
        k2.close();
    }

    @Test
    void propertiesReachComponents() throws Exception {
        RumpKernel k = RumpKernel.boot(new ManualHost(), with().withProperty("net.mtu", "9000"));
        assertEquals("9000", k.property("net.mtu").orElseThrow());
        assertTrue(k.property("absent").isEmpty());
        k.close();
    }

    @Test
    void bootLogsToTheConsole() throws Exception {
        ManualHost host = new ManualHost();
        RumpKernel.boot(host, with(new Recorder("net")).withName("k9")).close();
        assertTrue(host.console.stream().anyMatch(l -> l.contains("k9") && l.contains("hypercall version")),
                host.console.toString());
        assertTrue(host.console.stream().anyMatch(l -> l.contains("halted")));
    }

    @Test
    void serviceLoaderFindsComponentsOnTheClassPath() throws Exception {
        // src/test/resources registers ServiceLoadedComponent.
        RumpKernel k = RumpKernel.boot(new ManualHost());
        assertTrue(k.component(ServiceLoadedComponent.class).isPresent());
        assertEquals(1, ServiceLoadedComponent.starts.get() - ServiceLoadedComponent.stops.get());
        k.close();
        assertEquals(ServiceLoadedComponent.starts.get(), ServiceLoadedComponent.stops.get());
    }
}
