package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --dhcp-lease-file}: written whole, read back, and a file that is not one refused by line. */
class DhcpLeaseFileTest {
    static final DhcpLeaseFile LEASE = new DhcpLeaseFile(MacAddress.parse("02:00:00:00:00:07"),
            Ipv4Address.parse("198.18.0.123"), Ipv4Address.parse("198.18.0.1"), Instant.parse("2026-12-07T10:12:00Z"));

    @TempDir
    Path tmp;

    @Test
    void writtenAndReadBackWithNoTemporaryFileLeft() throws Exception {
        Path f = tmp.resolve("lease");
        assertNull(DhcpLeaseFile.read(f), "no file: no lease");
        LEASE.write(f);
        assertEquals(LEASE, DhcpLeaseFile.read(f));
        DhcpLeaseFile infinite = new DhcpLeaseFile(LEASE.mac(), LEASE.address(), LEASE.server(), null);
        infinite.write(f); // replaces
        assertEquals(infinite, DhcpLeaseFile.read(f));
        assertTrue(Files.readString(f).contains("expires=never"));
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(f), files.toList(), "the temporary file was renamed over the lease");
        }
        assertTrue(LEASE.unexpiredAt(Instant.parse("2026-12-07T10:11:59Z")));
        assertFalse(LEASE.unexpiredAt(Instant.parse("2026-12-07T10:12:00Z")));
        assertTrue(infinite.unexpiredAt(Instant.MAX));
    }

    @Test
    void commentsBlankLinesAndSpacesAreAllowed() throws Exception {
        Path f = tmp.resolve("lease");
        Files.writeString(f, "# by hand\n\n expires = 2026-12-07T10:12:00Z\naddress=198.18.0.123\n"
                + "server=198.18.0.1\nmac=02:00:00:00:00:07\n");
        assertEquals(LEASE, DhcpLeaseFile.read(f));
    }

    @Test
    void aFileThatIsNotALeaseIsRefusedNamingTheFileAndLine() throws Exception {
        String good = "mac=02:00:00:00:00:07\naddress=198.18.0.123\nserver=198.18.0.1\nexpires=2026-12-07T10:12:00Z\n";
        refused(good.replace("address=198.18.0.123", "address=198.18.0.300"), "line 2: 'address' is not an IPv4 address");
        refused(good.replace("server=", "server 198"), "line 3: not key=value");
        refused(good + "colour=blue\n", "line 5: unknown key 'colour'");
        refused(good + "mac=02:00:00:00:00:08\n", "line 5: 'mac' again (first on line 1)");
        refused(good.replace("2026-12-07T10:12:00Z", "tomorrow"), "line 4: 'expires' is not a UTC time");
        refused(good.replace("02:00:00:00:00:07", "01:00:5e:00:00:01"), "line 1: 'mac' 01:00:5e:00:00:01 is a multicast");
        refused(good.replace("02:00:00:00:00:07", "zz"), "line 1: 'mac' is not a MAC address");
        refused(good.replace("server=198.18.0.1\n", ""), "no 'server' line");
        refused("\u0000\u0001\u0002garbage", "line 1: not key=value");
        refused("x".repeat(DhcpLeaseFile.MAX_BYTES + 1), "more than a lease file's 4096");
    }

    private void refused(String content, String expected) throws Exception {
        Path f = tmp.resolve("bad");
        Files.writeString(f, content);
        ErrnoException e = assertThrows(ErrnoException.class, () -> DhcpLeaseFile.read(f));
        assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
        assertTrue(e.getMessage().startsWith(f + ": not a lease file: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    /** The command stops on a bad lease file before it opens a TAP or boots a kernel: exit 1, file and line named. */
    @Test
    void aCommandGivenABadLeaseFileSaysWhereAndStops() throws Exception {
        Path f = tmp.resolve("lease");
        Files.writeString(f, "mac=02:00:00:00:00:07\naddress=198.18.0.123\nserver=nowhere\nexpires=never\n");
        RumpRun r = RumpRun.expect(1, "net", "sink", "--tap", "jrnotap0", "--dhcp", "--dhcp-lease-file", f.toString(),
                "--port", "9");
        assertTrue(r.err().contains(f + ": not a lease file: line 3: 'server' is not an IPv4 address: 'nowhere'"),
                r.all());
        assertFalse(Files.exists(Path.of("/sys/class/net/jrnotap0")), "no TAP made");
    }

    @Test
    void theLeaseFileGoesWithDhcp() {
        RumpRun r = RumpRun.expect(2, "net", "sink", "--tap", "t0", "--addr", "198.18.0.2/24", "--dhcp-lease-file",
                tmp.resolve("lease").toString(), "--port", "9");
        assertTrue(r.err().contains("--dhcp-lease-file goes with --dhcp"), r.all());
    }
}
