package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.virtio.DpdkNetBackend;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rump net ping|bench --host virtio --nic-a … --nic-b …}: the two-kernel commands with each
 * kernel on a virtio-net device of its own, DPDK's testpmd the wire between the two vhost-user
 * ports. Both stacks, both drivers and a back-end nobody here wrote, in one command.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "runs DPDK's testpmd")
class VirtioNetPairTest {
    @TempDir
    Path tmp;

    @Test
    void pingAndBenchCrossTheWire() throws Exception {
        Path a = tmp.resolve("a.sock");
        Path b = tmp.resolve("b.sock");
        try (DpdkNetBackend wire = DpdkNetBackend.wire(a, b)) {
            String[] nics = {"--host", "virtio", "--nic-a", "vhost-user:" + a, "--nic-b", "vhost-user:" + b};
            RumpRun ping = RumpRun.expect(0, concat(new String[] {"net", "ping", "--count", "3"}, nics));
            assertTrue(ping.out().contains("3 received") || ping.out().contains("3 packets received")
                    || ping.out().contains("0% packet loss"), ping.out());
            RumpRun bench = RumpRun.expect(0, concat(new String[] {"net", "bench", "--bytes", "32M"}, nics));
            assertTrue(bench.out().contains("host virtio"), bench.out());
        }
    }

    @Test
    void virtioNeedsBothDevicesAndTheyNeedIt() {
        RumpRun r = RumpRun.expect(2, "net", "ping", "--host", "virtio", "--nic-a", "vhost-user:/nowhere.sock");
        assertTrue(r.err().contains("--nic-a and --nic-b"), r.err());
        r = RumpRun.expect(2, "net", "ping", "--nic-a", "vhost-user:/a.sock", "--nic-b", "vhost-user:/b.sock");
        assertTrue(r.err().contains("go with --host virtio"), r.err());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
