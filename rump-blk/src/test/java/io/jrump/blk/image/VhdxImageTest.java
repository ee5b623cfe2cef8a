package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * VHDX against qemu-img: images qemu-img converts from a raw disk with data and holes read the
 * same bytes as qemu's own raw conversion; images jrump creates and writes pass {@code qemu-img
 * check} and {@code qemu-img compare} equal to the raw truth; logs built here from the spec
 * (committed, stale, torn and foreign entries) are replayed to the same disk qemu replays them
 * to; damaged headers, region tables, metadata, BATs and lying logs give EUCLEAN naming them.
 */
class VhdxImageTest {
    /** 40 MiB and three sectors: the last block of any size is partial. */
    private static final long SIZE = (40L << 20) + 1536;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("vhdx");

    @AfterEach
    void close() {
        host.close();
    }

    private static int run(boolean mustSucceed, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        if (mustSucceed) {
            assertEquals(0, p.exitValue(), String.join(" ", cmd) + ":\n" + out);
        }
        return p.exitValue();
    }

    private static void qemuImg(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "qemu-img";
        System.arraycopy(args, 0, cmd, 1, args.length);
        run(true, cmd);
    }

    /** Random data in some places, holes elsewhere; the last sector is data. */
    private Path truth() throws Exception {
        return truth(SIZE);
    }

    private Path truth(long size) throws Exception {
        Path raw = dir.resolve(size == SIZE ? "truth.raw" : "truth-" + size + ".raw");
        Random r = new Random(17);
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(size);
            for (long at : new long[] {0, 3L << 20, (5L << 20) + 4096, 17L << 20, (33L << 20) - 4096, size - 8192}) {
                byte[] b = new byte[8192];
                r.nextBytes(b);
                f.seek(at);
                f.write(b);
            }
        }
        return raw;
    }

    private byte[] readAll(BlockDevice d) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate((int) d.size());
        d.read(0, b);
        return b.array();
    }

    private Path qemuVhdx(String options) throws Exception {
        Path vhdx = dir.resolve("disk.vhdx");
        Files.deleteIfExists(vhdx);
        qemuImg("convert", "-q", "-f", "raw", "-O", "vhdx", "-o", options, truth().toString(), vhdx.toString());
        return vhdx;
    }

    private byte[] qemuView(Path vhdx) throws Exception {
        Path raw = dir.resolve("qemu-view.raw");
        Files.deleteIfExists(raw);
        qemuImg("convert", "-q", "-f", "vhdx", "-O", "raw", vhdx.toString(), raw.toString());
        return Files.readAllBytes(raw);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"subformat=dynamic,block_size=1M", "subformat=dynamic,block_size=8M",
        "subformat=dynamic,block_size=32M", "subformat=fixed,block_size=1M", "subformat=fixed,block_size=8M",
        "subformat=dynamic,block_size=1M,block_state_zero=off", "subformat=fixed,block_size=32M,block_state_zero=off",
        "subformat=dynamic,block_size=1M,log_size=4M"})
    void readsWhatQemuImgWroteAsQemuReadsIt(String options) throws Exception {
        Path vhdx = qemuVhdx(options);
        byte[] qemu = qemuView(vhdx);
        assertArrayEquals(Files.readAllBytes(truth()), qemu);
        try (BlockDevice d = Images.open(host, vhdx.toString(), true)) {
            assertTrue(d instanceof VhdxImage, d.toString());
            assertEquals(512, d.sectorSize());
            VhdxImage v = (VhdxImage) d;
            assertEquals(Vhdx.guidText(le(readAt(vhdx, metadataItem(vhdx, Vhdx.PAGE_83), 16)).array()), v.virtualDiskId());
            assertEquals(qemu.length, d.size());
            assertArrayEquals(qemu, readAll(d));
        }
    }

    // ---- writing ----

    /** Writes the truth's non-zero 64 KiB pieces into {@code d}. */
    private void copyTruth(BlockDevice d) throws Exception {
        byte[] t = Files.readAllBytes(truth());
        for (int at = 0; at < t.length; at += 65536) {
            int n = Math.min(65536, t.length - at);
            byte[] piece = Arrays.copyOfRange(t, at, at + n);
            if (!Arrays.equals(piece, new byte[n])) {
                d.write(at, ByteBuffer.wrap(piece));
            }
        }
    }

    private static Map<String, String> options(String text) {
        Map<String, String> m = new TreeMap<>();
        for (String kv : text.split(",")) {
            String[] p = kv.split("=", 2);
            m.put(p[0], p[1]);
        }
        return m;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"subformat=dynamic,block_size=1M", "subformat=dynamic,block_size=8M,log_size=2M",
        "block_size=32M", "subformat=fixed,block_size=1M", "subformat=fixed,block_size=8M",
        "subformat=dynamic,block_size=1M,block_state_zero=off"})
    void imagesJrumpCreatesAndWritesAreWhatQemuReads(String opts) throws Exception {
        Path img = dir.resolve("ours.vhdx");
        Images.create(host, img.toString(), "vhdx", SIZE, options(opts));
        qemuImg("check", "-q", "-f", "vhdx", img.toString());
        byte[] before = Files.readAllBytes(img);
        try (BlockDevice d = Images.open(host, img.toString(), false)) {
            assertEquals(SIZE, d.size());
            assertEquals(opts.contains("fixed"), ((VhdxImage) d).isFullyAllocated());
            copyTruth(d);
            assertArrayEquals(Files.readAllBytes(truth()), readAll(d));
        }
        qemuImg("check", "-q", "-f", "vhdx", img.toString());
        qemuImg("compare", "-q", "-f", "vhdx", "-F", "raw", img.toString(), truth().toString());
        assertArrayEquals(Files.readAllBytes(truth()), qemuView(img));
        // The first write renewed both write GUIDs; the log is empty again at rest.
        VhdxHeader was = (VhdxHeader) VhdxHeader.parse(le(Arrays.copyOfRange(before, 0x20000, 0x21000)));
        VhdxHeader now = (VhdxHeader) currentHeader(img)[0];
        assertFalse(Arrays.equals(was.fileWriteGuid(), now.fileWriteGuid()));
        assertFalse(Arrays.equals(was.dataWriteGuid(), now.dataWriteGuid()));
        assertTrue(Vhdx.isZero(now.logGuid()));
    }

    @Test
    void createRefusesWhatItCannotMake() throws Exception {
        for (String opts : new String[] {"block_size=3M", "block_size=512K", "log_size=100K", "subformat=static",
            "block_state_zero=maybe", "cluster_size=64K"}) {
            Path img = dir.resolve("bad" + Math.abs(opts.hashCode()) + ".vhdx");
            ErrnoException e = assertThrows(ErrnoException.class,
                    () -> Images.create(host, img.toString(), "vhdx", SIZE, options(opts)), opts);
            assertEquals(Errno.EINVAL, e.errno(), e.getMessage());
        }
    }

    /**
     * A write cut by a crash after its log entry was flushed and before the BAT sector was
     * written (its data written, as if by a later write: only the BAT is rolled back): qemu and
     * jrump replay jrump's log entry to the same disk, which holds the data.
     */
    @Test
    void qemuReplaysTheLogEntriesJrumpWrites() throws Exception {
        Path img = dir.resolve("ours.vhdx");
        Images.create(host, img.toString(), "vhdx", SIZE, options("block_size=1M"));
        long bat = region(img, Vhdx.BAT_REGION)[0];
        byte[] batBefore = readAt(img, bat, 4096);
        byte[] data = new byte[8192];
        new Random(11).nextBytes(data);
        byte[] want = new byte[(int) SIZE];
        System.arraycopy(data, 0, want, 5 << 20, data.length);
        Path crashed = dir.resolve("crashed.vhdx");
        try (BlockDevice d = Images.open(host, img.toString(), false)) {
            d.write(5 << 20, ByteBuffer.wrap(data));
            Files.copy(img, crashed); // before flush(): the header still names the log
        }
        patch(crashed, bat, batBefore);
        assertFalse(Vhdx.isZero(((VhdxHeader) currentHeader(crashed)[0]).logGuid()));
        Path theirs = dir.resolve("theirs.vhdx");
        Files.copy(crashed, theirs);
        qemuImg("check", "-q", "-r", "all", "-f", "vhdx", theirs.toString());
        assertArrayEquals(want, qemuView(theirs));
        try (BlockDevice d = Images.open(host, crashed.toString(), false)) {
            assertArrayEquals(want, readAll(d));
        }
        qemuImg("check", "-q", "-f", "vhdx", crashed.toString());
    }

    /**
     * qemu reads only 512-byte-sector VHDX images: a 4096-byte-sector image jrump makes and
     * writes is read back by jrump and by 7-Zip, then, its Logical Sector Size item set to 512
     * (for a disk this small the BAT interleaving is the same: one chunk either way), by qemu.
     */
    @Test
    void fourKibSectorImageJrumpCreatesHoldsWhatWasWritten() throws Exception {
        Path img = dir.resolve("4k.vhdx");
        try (ImageFile f = new ImageFile(host.blockDevices().create(img.toString(), 0), host.scheduler())) {
            VhdxImage.create(f, 40L << 20, 1 << 20, false, 4096, host.random());
        }
        byte[] want = new byte[40 << 20];
        new Random(3).nextBytes(want);
        Arrays.fill(want, 1 << 20, 9 << 20, (byte) 0);
        try (BlockDevice d = Images.open(host, img.toString(), false)) {
            assertEquals(4096, d.sectorSize());
            ErrnoException e = assertThrows(ErrnoException.class, () -> d.write(512, ByteBuffer.allocate(512)));
            assertEquals(Errno.EINVAL, e.errno());
            d.write(0, ByteBuffer.wrap(want, 0, 1 << 20));
            d.write(9 << 20, ByteBuffer.wrap(want, 9 << 20, 31 << 20));
        }
        try (BlockDevice d = Images.open(host, img.toString(), true)) {
            assertEquals(4096, d.sectorSize());
            assertArrayEquals(want, readAll(d));
        }
        assertArrayEquals(want, sevenZip(img));
        patch(img, metadataItem(img, Vhdx.LOGICAL_SECTOR_SIZE), le32(512));
        qemuImg("check", "-q", "-f", "vhdx", img.toString());
        assertArrayEquals(want, qemuView(img));
    }

    /** A qemu-made image with its Logical Sector Size item set to 4096 (which qemu then refuses to open). */
    @Test
    void fourKibSectorImageQemuMadeIsRead() throws Exception {
        Path vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, metadataItem(vhdx, Vhdx.LOGICAL_SECTOR_SIZE), le32(4096));
        patch(vhdx, metadataItem(vhdx, Vhdx.VIRTUAL_DISK_SIZE), le64(40L << 20)); // a multiple of 4096
        try (VhdxImage d = (VhdxImage) Images.open(host, vhdx.toString(), true)) {
            assertEquals(4096, d.sectorSize());
            assertArrayEquals(Arrays.copyOf(Files.readAllBytes(truth()), 40 << 20), readAll(d));
        }
    }

    @Test
    void writesIntoAQemuImageAreWhatQemuReads() throws Exception {
        Path vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        byte[] want = Files.readAllBytes(truth());
        byte[] patch = new byte[3 << 20];
        new Random(5).nextBytes(patch);
        int at = (2 << 20) + 512; // over an allocated block (3 MiB) and unallocated ones
        System.arraycopy(patch, 0, want, at, patch.length);
        try (BlockDevice d = Images.open(host, vhdx.toString(), false)) {
            d.write(at, ByteBuffer.wrap(patch));
            d.flush();
            assertArrayEquals(want, readAll(d));
        }
        qemuImg("check", "-q", "-f", "vhdx", vhdx.toString());
        assertArrayEquals(want, qemuView(vhdx));
    }

    // ---- the structures, as a test reads and changes them ----

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    private static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    private static void patch(Path img, long at, byte... bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(at);
            f.write(bytes);
        }
    }

    private static byte[] readAt(Path img, long at, int n) throws Exception {
        byte[] b = new byte[n];
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            f.seek(at);
            f.readFully(b);
        }
        return b;
    }

    /** The file offset of a region (BAT or metadata) and its length, from the first region table. */
    private static long[] region(Path img, byte[] guid) throws Exception {
        ByteBuffer t = le(readAt(img, 0x30000, 65536));
        for (int i = 0; i < t.getInt(8); i++) {
            if (Arrays.equals(Vhdx.guidAt(t, 16 + 32 * i), guid)) {
                return new long[] {t.getLong(32 + 32 * i), t.getInt(40 + 32 * i), 16 + 32 * i};
            }
        }
        throw new AssertionError("no region");
    }

    private static long metadataItem(Path img, byte[] guid) throws Exception {
        long meta = region(img, Vhdx.METADATA_REGION)[0];
        ByteBuffer t = le(readAt(img, meta, 65536));
        for (int i = 0; i < (t.getShort(10) & 0xffff); i++) {
            if (Arrays.equals(Vhdx.guidAt(t, 32 + 32 * i), guid)) {
                return meta + t.getInt(48 + 32 * i);
            }
        }
        throw new AssertionError("no item");
    }

    /** Changes both region tables with {@code edit} and fixes their checksums. */
    private static void editRegionTables(Path img, java.util.function.Consumer<ByteBuffer> edit) throws Exception {
        for (long at : Vhdx.REGION_TABLES) {
            ByteBuffer t = le(readAt(img, at, 65536));
            edit.accept(t);
            t.putInt(4, Vhdx.crc(t, 4));
            patch(img, at, t.array());
        }
    }

    /** The current header and its slot. */
    private static Object[] currentHeader(Path img) throws Exception {
        VhdxHeader best = null;
        int slot = -1;
        for (int i = 0; i < 2; i++) {
            Object h = VhdxHeader.parse(le(readAt(img, Vhdx.HEADERS[i], 4096)));
            if (h instanceof VhdxHeader vh && (best == null || vh.sequence() > best.sequence())) {
                best = vh;
                slot = i;
            }
        }
        return new Object[] {best, slot};
    }

    private void assertFails(Path img, boolean readOnly, Errno errno, String what) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.open(host, img.toString(), readOnly).close());
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(what), e.getMessage());
    }

    // ---- bad input ----

    @Test
    void oneDamagedHeaderLeavesTheOtherBothDamagedAreNamed() throws Exception {
        Path vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        int slot = (int) currentHeader(vhdx)[1];
        patch(vhdx, Vhdx.HEADERS[slot] + 100, (byte) 0x55); // the current copy's checksum fails
        try (BlockDevice d = Images.open(host, vhdx.toString(), true)) {
            assertArrayEquals(Files.readAllBytes(truth()), readAll(d));
        }
        patch(vhdx, Vhdx.HEADERS[1 - slot], (byte) 'x');
        assertFails(vhdx, true, Errno.EUCLEAN, "both headers are damaged");
    }

    @Test
    void regionTablesAreCheckedAndTheSecondCopyServes() throws Exception {
        Path vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, 0x30000 + 40, (byte) 0x7f); // the first table's checksum fails
        try (BlockDevice d = Images.open(host, vhdx.toString(), true)) {
            assertArrayEquals(Files.readAllBytes(truth()), readAll(d));
        }
        patch(vhdx, 0x40000 + 40, (byte) 0x7f);
        assertFails(vhdx, true, Errno.EUCLEAN, "both region tables are damaged");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        int batEntry = (int) region(vhdx, Vhdx.BAT_REGION)[2];
        editRegionTables(vhdx, t -> t.putLong(batEntry + 16, 0x7f000L << 20)); // the BAT past the file
        assertFails(vhdx, true, Errno.EUCLEAN, "region table at 0x30000 entry");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        editRegionTables(vhdx, t -> t.putLong(batEntry + 16, 0x100000)); // the BAT over the log
        assertFails(vhdx, true, Errno.EUCLEAN, "overlaps the log");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        editRegionTables(vhdx, t -> {
            int e = 16 + 32 * t.getInt(8);
            t.putInt(8, t.getInt(8) + 1);
            t.put(e, Vhdx.guid("01234567-89AB-CDEF-0123-456789ABCDEF")).putLong(e + 16, 0x100000).putInt(e + 24, 0x100000);
            t.putInt(e + 28, 1); // required
        });
        assertFails(vhdx, true, Errno.EOPNOTSUPP, "required region 01234567-89AB-CDEF-0123-456789ABCDEF");
    }

    @Test
    void metadataLiesAreNamed() throws Exception {
        Path vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, metadataItem(vhdx, Vhdx.VIRTUAL_DISK_SIZE), le64(1L << 62));
        assertFails(vhdx, true, Errno.EUCLEAN, "Virtual Disk Size");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, metadataItem(vhdx, Vhdx.VIRTUAL_DISK_SIZE), le64(1L << 40)); // 1 Mi blocks: the 1 MiB BAT is too small
        assertFails(vhdx, true, Errno.EUCLEAN, "BAT region of 1048576 bytes");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, metadataItem(vhdx, Vhdx.VIRTUAL_DISK_SIZE), le64(60L << 40)); // more entries than held in memory
        assertFails(vhdx, true, Errno.EOPNOTSUPP, "jrump holds at most");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, metadataItem(vhdx, Vhdx.FILE_PARAMETERS), le32(3 << 20));
        assertFails(vhdx, true, Errno.EUCLEAN, "block size 3145728");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, metadataItem(vhdx, Vhdx.FILE_PARAMETERS) + 4, le32(2)); // HasParent, and no locator
        assertFails(vhdx, true, Errno.EUCLEAN, "HasParent but there is no Parent Locator item");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, metadataItem(vhdx, Vhdx.LOGICAL_SECTOR_SIZE), le32(1024));
        assertFails(vhdx, true, Errno.EUCLEAN, "Logical Sector Size 1024");
    }

    @Test
    void batEntriesOutsideTheFileAreNamed() throws Exception {
        Path vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        long bat = region(vhdx, Vhdx.BAT_REGION)[0];
        patch(vhdx, bat + 8 * 2, le64((0x7f000L << 20) | 6)); // block 2 at 0x7f000 MiB
        assertFails(vhdx, true, Errno.EUCLEAN, "BAT entry 2 at " + Vhdx.hex(bat + 16) + " places block 2 at 0x7f00000000");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, bat, le64((1L << 20) | 6)); // block 0 over the log at 1 MiB
        assertFails(vhdx, true, Errno.EUCLEAN, "over the log");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        long block0 = le(readAt(vhdx, bat, 8)).getLong(0);
        patch(vhdx, bat + 8 * 4, le64(block0)); // block 4 shares block 0's place
        try (BlockDevice d = Images.open(host, vhdx.toString(), true)) {
            byte[] all = readAll(d);
            assertArrayEquals(Arrays.copyOfRange(all, 0, 1 << 20), Arrays.copyOfRange(all, 4 << 20, 5 << 20));
        }
        assertFails(vhdx, false, Errno.EUCLEAN, "BAT entries 0 and 4");

        vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        patch(vhdx, bat + 8, le64(7)); // PARTIALLY_PRESENT without a parent
        assertFails(vhdx, true, Errno.EUCLEAN, "PARTIALLY_PRESENT");
    }

    // ---- the log ----

    /** Appends a 1 MiB block of {@code fill}'s data at the (1 MiB aligned) end of the file; its offset. */
    private static long appendBlock(Path img, byte[] data) throws Exception {
        long at = Files.size(img);
        assertEquals(0, at % (1 << 20));
        patch(img, at, data);
        return at;
    }

    private static byte[] batSector(Path img, long bat, long... entries) throws Exception {
        byte[] s = readAt(img, bat, 4096);
        for (int i = 0; i < entries.length; i += 2) {
            le(s).putLong((int) entries[i] * 8, entries[i + 1]);
        }
        return s;
    }

    /**
     * A dirty log in a qemu-made image (1 MiB blocks): a stale but valid sequence (seq 3), the
     * active sequence (seq 5, then 6 with its tail at 5), a torn entry (seq 7, bad checksum) and
     * an entry of another log GUID (seq 100). The active sequence puts block 10 on a new block at
     * the end of the file, then (entry 6) also block 0 to ZERO and zeros 8 KiB of the new block.
     * Returns the disk the log says.
     */
    private byte[] dirtyLog(Path vhdx) throws Exception {
        byte[] want = Files.readAllBytes(truth());
        long bat = region(vhdx, Vhdx.BAT_REGION)[0];
        byte[] block = new byte[1 << 20];
        new Random(9).nextBytes(block);
        long newBlock = appendBlock(vhdx, block);
        long last = newBlock + (1 << 20);
        Object[] cur = currentHeader(vhdx);
        VhdxHeader h = (VhdxHeader) cur[0];
        byte[] guid = Vhdx.guid("11112222-3333-4444-5555-666677778888");
        long log = h.logOffset();
        long full = (newBlock >> 20) << 20 | 6;
        byte[] e5 = VhdxLog.encode(5, 0, guid, newBlock, last,
                List.of(new VhdxLog.Update(bat, batSector(vhdx, bat, 10, full), 0)));
        byte[] e6 = VhdxLog.encode(6, 0, guid, newBlock, last,
                List.of(new VhdxLog.Update(bat, batSector(vhdx, bat, 10, full, 0, 2), 0),
                    new VhdxLog.Update(newBlock + 8192, null, 8192)));
        byte[] e7 = VhdxLog.encode(7, 0, guid, newBlock, last,
                List.of(new VhdxLog.Update(bat, batSector(vhdx, bat, 1, 2), 0)));
        e7[200] ^= 1; // torn: its checksum fails
        long staleAt = 64 << 10;
        byte[] e3 = VhdxLog.encode(3, staleAt, guid, newBlock, last,
                List.of(new VhdxLog.Update(bat, batSector(vhdx, bat, 3, 2), 0)));
        long foreignAt = 128 << 10;
        byte[] e100 = VhdxLog.encode(100, foreignAt, Vhdx.guid("99999999-3333-4444-5555-666677778888"), newBlock,
                last, List.of(new VhdxLog.Update(bat, batSector(vhdx, bat, 17, 2), 0)));
        patch(vhdx, log, e5);
        patch(vhdx, log + e5.length, e6);
        patch(vhdx, log + e5.length + e6.length, e7);
        patch(vhdx, log + staleAt, e3);
        patch(vhdx, log + foreignAt, e100);
        VhdxHeader dirty = h.next(h.fileWriteGuid(), h.dataWriteGuid(), guid);
        patch(vhdx, Vhdx.HEADERS[1 - (int) cur[1]], dirty.encode().array());
        // Block 10 (10 MiB) is the new block with 8 KiB zeroed; block 0 reads zeros.
        System.arraycopy(block, 0, want, 10 << 20, 1 << 20);
        Arrays.fill(want, (10 << 20) + 8192, (10 << 20) + 16384, (byte) 0);
        Arrays.fill(want, 0, 1 << 20, (byte) 0);
        return want;
    }

    @Test
    void aDirtyLogIsReplayedAsQemuReplaysIt() throws Exception {
        Path ours = qemuVhdx("subformat=dynamic,block_size=1M");
        byte[] want = dirtyLog(ours);
        Path theirs = dir.resolve("theirs.vhdx");
        Files.copy(ours, theirs);
        // qemu replays a log only when it opens the image read-write (check -r all does), and
        // refuses a read-only open; jrump replays it in memory then, leaving the file as it is.
        assertFalse(run(false, "qemu-img", "convert", "-f", "vhdx", "-O", "raw", theirs.toString(),
                dir.resolve("x.raw").toString()) == 0, "qemu refuses to read past a dirty log read-only");
        byte[] dirtyFile = Files.readAllBytes(ours);
        try (BlockDevice d = Images.open(host, ours.toString(), true)) {
            assertArrayEquals(want, readAll(d));
        }
        assertArrayEquals(dirtyFile, Files.readAllBytes(ours), "a read-only open writes nothing");
        qemuImg("check", "-q", "-r", "all", "-f", "vhdx", theirs.toString());
        assertArrayEquals(want, qemuView(theirs));
        try (BlockDevice d = Images.open(host, ours.toString(), false)) {
            assertArrayEquals(want, readAll(d));
        }
        assertTrue(Vhdx.isZero(((VhdxHeader) currentHeader(ours)[0]).logGuid()), "the log GUID is cleared");
        qemuImg("check", "-q", "-f", "vhdx", ours.toString());
        try (BlockDevice d = Images.open(host, ours.toString(), true)) {
            assertArrayEquals(want, readAll(d));
        }
    }

    @Test
    void aLogWithNoValidEntryIsEmpty() throws Exception {
        Path vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        Object[] cur = currentHeader(vhdx);
        VhdxHeader h = (VhdxHeader) cur[0];
        patch(vhdx, Vhdx.HEADERS[1 - (int) cur[1]],
                h.next(h.fileWriteGuid(), h.dataWriteGuid(), Vhdx.guid("11112222-3333-4444-5555-666677778888")).encode().array());
        try (BlockDevice d = Images.open(host, vhdx.toString(), true)) {
            assertArrayEquals(Files.readAllBytes(truth()), readAll(d));
        }
        assertArrayEquals(Files.readAllBytes(truth()), qemuView(vhdx));
    }

    /**
     * A 64 MiB log full of valid, consecutive entries whose newest names a tail outside them: no
     * valid sequence, found in linear time (each start would otherwise walk the whole run again).
     */
    @Test
    void aLogFullOfEntriesWithNoValidSequenceIsScannedQuickly() throws Exception {
        Path img = dir.resolve("biglog.vhdx");
        Images.create(host, img.toString(), "vhdx", 8 << 20, options("block_size=1M,log_size=64M"));
        Object[] cur = currentHeader(img);
        VhdxHeader h = (VhdxHeader) cur[0];
        byte[] guid = Vhdx.guid("11112222-3333-4444-5555-666677778888");
        int slots = (int) (h.logLength() / 4096);
        ByteBuffer log = ByteBuffer.allocate((int) h.logLength());
        for (int i = 0; i < slots - 1; i++) {
            log.put(VhdxLog.encode(100 + i, (long) (slots - 1) * 4096, guid, 0, 0, List.of()));
        }
        patch(img, h.logOffset(), log.array());
        patch(img, Vhdx.HEADERS[1 - (int) cur[1]], h.next(h.fileWriteGuid(), h.dataWriteGuid(), guid).encode().array());
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            try (BlockDevice d = Images.open(host, img.toString(), true)) {
                assertArrayEquals(new byte[8 << 20], readAll(d));
            }
        });
    }

    @Test
    void lyingLogEntriesAreNamed() throws Exception {
        Path vhdx = qemuVhdx("subformat=dynamic,block_size=1M");
        Object[] cur = currentHeader(vhdx);
        VhdxHeader h = (VhdxHeader) cur[0];
        byte[] guid = Vhdx.guid("11112222-3333-4444-5555-666677778888");
        long size = Files.size(vhdx);
        patch(vhdx, h.logOffset(), VhdxLog.encode(1, 0, guid, size, size,
                List.of(new VhdxLog.Update(0x10000, new byte[4096], 0))));
        patch(vhdx, Vhdx.HEADERS[1 - (int) cur[1]], h.next(h.fileWriteGuid(), h.dataWriteGuid(), guid).encode().array());
        assertFails(vhdx, false, Errno.EUCLEAN, "log entry 1 at log offset 0x0: data descriptor for 4096 bytes at 0x10000"
                + " writes into the 1 MiB header section");

        patch(vhdx, h.logOffset(), VhdxLog.encode(1, 0, guid, size + (1 << 20), size,
                List.of(new VhdxLog.Update(size - 4096, new byte[4096], 0))));
        assertFails(vhdx, false, Errno.EUCLEAN, "truncated");

        patch(vhdx, h.logOffset(), VhdxLog.encode(1, 0, guid, size, size,
                List.of(new VhdxLog.Update(1L << 50, null, 1L << 40))));
        assertFails(vhdx, false, Errno.EUCLEAN, "past the file's end");
    }

    // ---- differencing disks ----

    /** The Parent Locator item: a VHDX locator with these keys and values (UTF-16LE). */
    private static byte[] locator(String... keyValues) {
        int count = keyValues.length / 2;
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, VhdxParent.VHDX_LOCATOR).putShort(18, (short) count);
        int at = 20 + 12 * count;
        for (int i = 0; i < keyValues.length; i++) {
            byte[] text = keyValues[i].getBytes(StandardCharsets.UTF_16LE);
            int e = 20 + 12 * (i / 2);
            b.putInt(e + (i % 2) * 4, at).putShort(e + 8 + (i % 2) * 2, (short) text.length);
            b.put(at, text);
            at += text.length;
        }
        return Arrays.copyOf(b.array(), at);
    }

    /** Adds an item to the metadata table, its data at 128 KiB into the region. */
    private static void addMetadataItem(Path img, byte[] guid, byte[] data, int flags) throws Exception {
        long meta = region(img, Vhdx.METADATA_REGION)[0];
        ByteBuffer t = le(readAt(img, meta, 64));
        int count = t.getShort(10) & 0xffff;
        ByteBuffer e = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        e.put(0, guid).putInt(16, 0x20000).putInt(20, data.length).putInt(24, flags);
        patch(img, meta + 32 + 32L * count, e.array());
        patch(img, meta + 10, (byte) (count + 1), (byte) ((count + 1) >> 8));
        patch(img, meta + 0x20000, data);
    }

    private static String linkage(Path parent) throws Exception {
        return "{" + Vhdx.guidText(((VhdxHeader) currentHeader(parent)[0]).dataWriteGuid()) + "}";
    }

    /** The size of the differencing disks: 7-Zip reads VHDX images only of whole blocks. */
    private static final long DIFF_SIZE = 40L << 20;

    /** A qemu-made dynamic parent of {@link #DIFF_SIZE} bytes, 1 MiB blocks. */
    private Path parent() throws Exception {
        Path vhdx = dir.resolve("parent.vhdx");
        qemuImg("convert", "-q", "-f", "raw", "-O", "vhdx", "-o", "subformat=dynamic,block_size=1M",
                truth(DIFF_SIZE).toString(), vhdx.toString());
        return vhdx;
    }

    /**
     * A differencing child of {@code parent} built from the specification over a qemu-made empty
     * image (qemu does not make or read them): every block NOT_PRESENT (the parent's) but block 3
     * FULLY_PRESENT, block 5 PARTIALLY_PRESENT (its sectors 0–7 and 100–163 here, the rest the
     * parent's) with chunk 0's sector bitmap, block 17 ZERO. Returns the disk it reads as.
     */
    private byte[] differencingChild(Path parent, Path child, String... locatorKeyValues) throws Exception {
        qemuImg("create", "-q", "-f", "vhdx", "-o", "block_size=1M", child.toString(), Long.toString(DIFF_SIZE));
        long bat = region(child, Vhdx.BAT_REGION)[0];
        patch(child, bat, new byte[4097 * 8]); // every payload entry NOT_PRESENT, the bitmap entry too
        byte[] x = new byte[1 << 20];
        byte[] y = new byte[1 << 20];
        new Random(21).nextBytes(x);
        new Random(22).nextBytes(y);
        long xAt = appendBlock(child, x);
        long yAt = appendBlock(child, y);
        byte[] bitmap = new byte[1 << 20];
        int first = 5 * 2048; // block 5's first sector in chunk 0
        for (int k = 0; k < 164; k++) {
            if (k < 8 || k >= 100) {
                bitmap[(first + k) / 8] |= (byte) (1 << ((first + k) % 8));
            }
        }
        long bitmapAt = appendBlock(child, bitmap);
        patch(child, bat + 3 * 8, le64(xAt | 6));
        patch(child, bat + 5 * 8, le64(yAt | 7));
        patch(child, bat + 17 * 8, le64(2));
        patch(child, bat + 4096 * 8, le64(bitmapAt | 6));
        long params = metadataItem(child, Vhdx.FILE_PARAMETERS);
        patch(child, params + 4, le32(2)); // HasParent
        addMetadataItem(child, Vhdx.PARENT_LOCATOR, locator(locatorKeyValues), 4);
        byte[] want = Files.readAllBytes(truth(DIFF_SIZE));
        System.arraycopy(x, 0, want, 3 << 20, x.length);
        System.arraycopy(y, 0, want, 5 << 20, 8 * 512);
        System.arraycopy(y, 100 * 512, want, (5 << 20) + 100 * 512, 64 * 512);
        Arrays.fill(want, 17 << 20, 18 << 20, (byte) 0);
        return want;
    }

    /** The disk 7-Zip extracts from an image (7-Zip reads VHDX images only of whole blocks). */
    private byte[] sevenZip(Path img) throws Exception {
        Path out = Files.createTempDirectory(dir, "7z");
        run(true, "7zz", "x", "-y", "-o" + out, img.toString());
        try (var files = Files.list(out)) {
            return Files.readAllBytes(files.findFirst().orElseThrow());
        }
    }

    @Test
    void aDifferencingDiskReadsOverItsParent() throws Exception {
        Path parent = parent();
        Path child = dir.resolve("child.vhdx");
        byte[] want = differencingChild(parent, child, "parent_linkage", linkage(parent),
                "relative_path", ".\\parent.vhdx", "absolute_win32_path", "C:\\nowhere\\parent.vhdx");
        try (VhdxImage d = (VhdxImage) Images.open(host, child.toString(), true)) {
            assertTrue(d.parent() != null && d.parent().name().endsWith("parent.vhdx"), String.valueOf(d.parent()));
            assertArrayEquals(want, readAll(d));
        }
        // 7-Zip reads differencing VHDX images over their parent too: the same disk.
        assertArrayEquals(want, sevenZip(child));
    }

    @Test
    void aDifferencingDiskNeedsItsOwnParent() throws Exception {
        Path parent = parent();
        Path child = dir.resolve("child.vhdx");
        differencingChild(parent, child, "parent_linkage", "{01234567-89AB-CDEF-0123-456789ABCDEF}",
                "relative_path", ".\\parent.vhdx");
        assertFails(child, true, Errno.EUCLEAN, "the parent changed since");

        Files.delete(child);
        differencingChild(parent, child, "parent_linkage", linkage(parent), "relative_path", "gone.vhdx");
        assertFails(child, true, Errno.ENOENT, "VHDX parent not found at [gone.vhdx]");

        Files.delete(child);
        differencingChild(parent, child, "parent_linkage", linkage(parent));
        assertFails(child, true, Errno.EUCLEAN, "neither relative_path nor absolute_win32_path");

        // A child naming itself: the chain loops until the depth bound.
        Files.delete(child);
        differencingChild(parent, child, "parent_linkage", "{00000000-0000-0000-0000-000000000000}",
                "relative_path", "child.vhdx");
        patch(child, metadataItem(child, Vhdx.PARENT_LOCATOR), locator("parent_linkage", linkage(child),
                "relative_path", "child.vhdx"));
        assertFails(child, true, Errno.ELOOP, "parent chain deeper than");

        // A partially present block needs its chunk's sector bitmap.
        Files.delete(child);
        differencingChild(parent, child, "parent_linkage", linkage(parent), "relative_path", "parent.vhdx");
        patch(child, region(child, Vhdx.BAT_REGION)[0] + 4096 * 8, le64(0));
        assertFails(child, true, Errno.EUCLEAN, "BAT entry 5 at");
    }

    /** Writes {@code data} at {@code at} in {@code d} and in {@code want}. */
    private static void write(BlockDevice d, byte[] want, long at, byte[] data) throws ErrnoException {
        d.write(at, ByteBuffer.wrap(data));
        System.arraycopy(data, 0, want, (int) at, data.length);
    }

    /**
     * Writes into every kind of block of a differencing disk: NOT_PRESENT (the parent's data
     * copied up around the write), PARTIALLY_PRESENT (made whole from its bitmap), ZERO, FULLY_PRESENT,
     * and zeros over the parent's data. The child reads as written, to jrump and to 7-Zip; the
     * parent is untouched.
     */
    @Test
    void writesToADifferencingDiskStayInTheChild() throws Exception {
        Path parent = parent();
        Path child = dir.resolve("child.vhdx");
        byte[] want = differencingChild(parent, child, "parent_linkage", linkage(parent), "relative_path",
                ".\\parent.vhdx");
        byte[] parentBytes = Files.readAllBytes(parent);
        Random r = new Random(31);
        byte[] a = new byte[8192];
        r.nextBytes(a);
        try (BlockDevice d = Images.open(host, child.toString(), false)) {
            write(d, want, (5L << 20) + 50 * 512, a); // partial block 5, between its own sectors
            write(d, want, (17L << 20) + 4096, a); // ZERO block 17
            write(d, want, (3L << 20) + 1024, a); // FULLY_PRESENT block 3
            write(d, want, (10L << 20) + 512, a); // NOT_PRESENT block 10 (parent zeros)
            write(d, want, (33L << 20) - 4096, new byte[4096]); // zeros over the parent's data, block 32
            write(d, want, (5L << 20) + 4096 + 1024, new byte[1024]); // and over parent sectors in block 5
            assertArrayEquals(want, readAll(d));
        }
        try (BlockDevice d = Images.open(host, child.toString(), true)) {
            assertArrayEquals(want, readAll(d));
        }
        assertArrayEquals(want, sevenZip(child));
        assertArrayEquals(parentBytes, Files.readAllBytes(parent), "the parent is not written");
    }

    /** A differencing disk Images.create makes (qemu-img's backing_file) over a qemu-made parent. */
    @Test
    void aDifferencingDiskJrumpCreatesReadsAsItsParentThenAsWritten() throws Exception {
        Path parent = parent();
        Path child = dir.resolve("child.vhdx");
        ErrnoException e = assertThrows(ErrnoException.class, () -> Images.create(host, child.toString(), "vhdx",
                1 << 20, options("backing_file=parent.vhdx")));
        assertEquals(Errno.EINVAL, e.errno(), e.getMessage());
        Files.deleteIfExists(child);
        Images.create(host, child.toString(), "vhdx", -1, options("backing_file=parent.vhdx"));
        byte[] want = Files.readAllBytes(truth(DIFF_SIZE));
        assertArrayEquals(want, sevenZip(child));
        byte[] a = new byte[65536];
        new Random(41).nextBytes(a);
        try (BlockDevice d = Images.open(host, child.toString(), false)) {
            assertTrue(((VhdxImage) d).parent() != null);
            assertArrayEquals(want, readAll(d));
            write(d, want, 17L << 20, a);
            write(d, want, (20L << 20) + 4096, a);
        }
        try (BlockDevice d = Images.open(host, child.toString(), true)) {
            assertArrayEquals(want, readAll(d));
        }
        assertArrayEquals(want, sevenZip(child));
        // Writing the parent changes its DataWriteGuid: the child no longer opens over it.
        try (BlockDevice d = Images.open(host, parent.toString(), false)) {
            d.write(0, ByteBuffer.allocate(512));
        }
        assertFails(child, true, Errno.EUCLEAN, "the parent changed since");
    }
}
