package io.jrump.blk.part;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.blk.Tool;
import io.jrump.blk.part.PartitionTable.Scheme;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 4Kn GPT we write on an image file, seen by the kernel and sfdisk as a real 4096-byte-sector
 * disk: {@code losetup -r --sector-size 4096} over the file, then {@code sfdisk --json} on the
 * loop device lists what we read from the plain file (sfdisk 2.38 cannot be told the sector size
 * of a file; {@code PartitionInteropTest} checks the same against {@code fdisk -b 4096} without root).
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (losetup); ./run-tests, as root, runs it")
class FourKnLoopInteropTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("part-4kn-loop");

    @AfterEach
    void close() {
        host.close();
    }

    @Test
    void sfdiskOnA4096ByteSectorLoopDeviceListsTheTableWeReadFromTheFile() throws Exception {
        Path img = dir.resolve("4kn.img");
        try (HostDisk disk = HostDisk.create(host, img.toString(), 64L << 20)) {
            PartitionEditor ed = PartitionEditor.create(disk, Scheme.GPT, 4096, host.random());
            ed.add(16L << 20, "efi", "esp", -1);
            ed.add(0, "linux", "root", -1);
            ed.write();
        }
        PartitionTable t;
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            t = PartitionTable.read(disk);
        }
        String loop = Tool.ok("losetup", "-r", "--sector-size", "4096", "-f", "--show", img.toString()).trim();
        String json;
        try {
            json = Tool.ok("sfdisk", "--json", loop);
        } finally {
            Tool.ok("losetup", "-d", loop);
        }
        assertTrue(json.contains("\"sectorsize\": 4096"), json);
        List<String> theirs = new ArrayList<>();
        Matcher m = Pattern.compile("\"start\":\\s*(\\d+),\\s*\"size\":\\s*(\\d+),\\s*\"type\":\\s*\"([^\"]+)\",\\s*"
                + "\"uuid\":\\s*\"([^\"]+)\"").matcher(json);
        while (m.find()) {
            theirs.add(m.group(1) + " " + m.group(2) + " " + m.group(3) + " " + m.group(4));
        }
        List<String> ours = t.partitions().stream()
                .map(p -> p.firstLba() + " " + p.sectors() + " " + p.type() + " " + p.uuid()).toList();
        assertEquals(2, theirs.size(), json);
        assertEquals(theirs, ours);
    }
}
