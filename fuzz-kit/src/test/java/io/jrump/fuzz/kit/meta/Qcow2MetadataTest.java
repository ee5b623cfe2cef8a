package io.jrump.fuzz.kit.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The qcow2 map on an image made by qemu-img (512-byte clusters, 4 KiB written, one snapshot); qemu-img check is the oracle. */
class Qcow2MetadataTest {
    @Test
    void theMapHoldsHeaderTablesAndSnapshotsButNoGuestData() throws Exception {
        Path f = Files.createTempFile("jrump-meta", ".qcow2");
        byte[] base;
        try {
            run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", f.toString(), "64k");
            run("qemu-io", "-c", "write -P 0x3c 0 4k", f.toString());
            run("qemu-img", "snapshot", "-c", "s1", f.toString());
            run("qemu-io", "-c", "write -P 0x5d 8k 512", f.toString());
            base = Files.readAllBytes(f);
        } finally {
            Files.deleteIfExists(f);
        }
        MetadataMap map = Qcow2Metadata.map(base);
        assertEquals("qcow2 header cluster", map.regionAt(0).what());
        for (String what : new String[] {"L1 table (active)", "L2 table 0 (active)", "refcount table", "refcount block 0",
            "snapshot table (1 entries)", "L1 table (snapshot 1)", "L2 table 0 (snapshot 1)"}) {
            assertTrue(map.regions().stream().anyMatch(r -> r.what().equals(what)), what + " missing from " + map);
        }
        assertNull(map.regionAt(Tools.indexOf(base, "\u003c".repeat(512))), "guest data is not metadata");
        assertNull(map.regionAt(Tools.indexOf(base, "\u005d".repeat(512))), "guest data is not metadata");
        byte[] back = map.splice(base, map.extract(base));
        assertArrayEquals(base, back);
        Tools.Run check = Tools.onImage(back, "qemu-img", "check", "-q");
        assertEquals(0, check.status(), check.output());
    }

    private static void run(String... command) throws Exception {
        Tools.Run r = Tools.run(command);
        assertEquals(0, r.status(), String.join(" ", command) + ": " + r.output());
    }
}
