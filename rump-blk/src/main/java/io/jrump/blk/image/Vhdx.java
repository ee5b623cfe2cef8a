package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * Constants and small helpers of Microsoft's [MS-VHDX] format shared by {@link VhdxImage} and
 * {@link VhdxLog}: everything on disk is little-endian, checksums are CRC-32C over a structure
 * with its checksum field taken as zero, GUIDs are stored with their first three fields
 * little-endian.
 */
final class Vhdx {
    static final long MIB = 1 << 20;
    static final int KIB64 = 64 << 10;
    static final int SECTOR = 4096;

    /** "vhdxfile" at byte 0. */
    static final long FILE_SIGNATURE = 0x656c6966_78646876L;
    static final int HEAD_SIGNATURE = 0x64616568; // "head"
    static final int REGION_SIGNATURE = 0x69676572; // "regi"
    static final long METADATA_SIGNATURE = 0x61746164_6174656dL; // "metadata"
    static final int LOG_ENTRY_SIGNATURE = 0x65676f6c; // "loge"
    static final int ZERO_SIGNATURE = 0x6f72657a; // "zero"
    static final int DESC_SIGNATURE = 0x63736564; // "desc"
    static final int DATA_SIGNATURE = 0x61746164; // "data"

    /** The two header copies and the two region-table copies, each 64 KiB apart. */
    static final long[] HEADERS = {0x10000, 0x20000};
    static final long[] REGION_TABLES = {0x30000, 0x40000};
    static final int HEADER_BYTES = 4096;
    static final int REGION_TABLE_BYTES = KIB64;
    static final int MAX_TABLE_ENTRIES = 2047;

    static final byte[] BAT_REGION = guid("2DC27766-F623-4200-9D64-115E9BFD4A08");
    static final byte[] METADATA_REGION = guid("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    static final byte[] FILE_PARAMETERS = guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    static final byte[] VIRTUAL_DISK_SIZE = guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    static final byte[] PAGE_83 = guid("BECA12AB-B2E6-4523-93EF-C309E000C746");
    static final byte[] LOGICAL_SECTOR_SIZE = guid("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    static final byte[] PHYSICAL_SECTOR_SIZE = guid("CDA348C7-445D-4471-9CC9-E9885251C556");
    static final byte[] PARENT_LOCATOR = guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
    static final byte[] ZERO_GUID = new byte[16];

    private Vhdx() {
    }

    /** A GUID's 16 bytes as stored: Data1, Data2, Data3 little-endian, then Data4 as written. */
    static byte[] guid(String text) {
        byte[] b = HexFormat.of().parseHex(text.replace("-", ""));
        byte[] out = new byte[16];
        int[] order = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
        for (int i = 0; i < 16; i++) {
            out[i] = b[order[i]];
        }
        return out;
    }

    static String guidText(byte[] g) {
        int[] order = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                s.append('-');
            }
            s.append(String.format("%02X", g[order[i]] & 0xff));
        }
        return s.toString();
    }

    static byte[] guidAt(ByteBuffer b, int at) {
        byte[] g = new byte[16];
        b.get(at, g);
        return g;
    }

    static boolean isZero(byte[] g) {
        return Arrays.equals(g, ZERO_GUID);
    }

    static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** CRC-32C of {@code b}'s whole backing array with the 4 bytes at {@code checksumAt} taken as zero. */
    static int crc(ByteBuffer b, int checksumAt) {
        CRC32C c = new CRC32C();
        byte[] a = b.array();
        c.update(a, 0, checksumAt);
        c.update(new byte[4]);
        c.update(a, checksumAt + 4, a.length - checksumAt - 4);
        return (int) c.getValue();
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    static ErrnoException corrupt(String name, String what) {
        return new ErrnoException(Errno.EUCLEAN, name + ": VHDX " + what);
    }

    static long roundUp(long x, long unit) {
        return (x + unit - 1) / unit * unit;
    }
}
