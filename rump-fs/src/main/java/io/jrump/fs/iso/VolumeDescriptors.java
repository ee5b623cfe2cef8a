package io.jrump.fs.iso;

import io.jrump.hypercall.ErrnoException;
import java.nio.charset.StandardCharsets;

/**
 * The volume descriptor set (ECMA-119 8) from block 16: the primary descriptor, a Joliet
 * supplementary descriptor (escape sequence %/@, %/C or %/E), a boot record, up to the
 * terminator or {@link #MAX_DESCRIPTORS} descriptors.
 */
final class VolumeDescriptors {
    static final long FIRST = 16;
    static final int MAX_DESCRIPTORS = 64;

    String volumeId = "";
    long volumeBlocks;
    int logicalBlockSize;
    byte[] primaryRoot;   // the 34-byte root directory record
    long primaryBlock = -1;
    byte[] jolietRoot;
    int jolietLevel;
    long jolietBlock = -1;
    long bootCatalog = -1; // El Torito boot catalog block, if a boot record says so
    long bootRecordBlock = -1;

    private VolumeDescriptors() {
    }

    /** Whether block 16 starts a volume descriptor set ("CD001"); reads one block. */
    static boolean present(IsoDevice dev) throws ErrnoException {
        if (dev.blocks() <= FIRST) {
            return false;
        }
        byte[] b = dev.block(FIRST, "volume descriptor");
        return isStandardId(b);
    }

    private static boolean isStandardId(byte[] b) {
        return b[1] == 'C' && b[2] == 'D' && b[3] == '0' && b[4] == '0' && b[5] == '1';
    }

    static VolumeDescriptors read(IsoDevice dev) throws ErrnoException {
        VolumeDescriptors v = new VolumeDescriptors();
        for (int i = 0; i < MAX_DESCRIPTORS; i++) {
            long lba = FIRST + i;
            if (lba >= dev.blocks()) {
                break; // a set with no terminator: take what was found, as Linux does
            }
            byte[] b = dev.block(lba, "volume descriptor");
            if (!isStandardId(b)) {
                if (i == 0) {
                    throw IsoErrors.corrupt("block 16 holds no volume descriptor (no 'CD001')");
                }
                break;
            }
            int type = b[0] & 0xff;
            if (type == 255) {
                break;
            }
            switch (type) {
                case 0 -> {
                    String system = new String(b, 7, 32, StandardCharsets.ISO_8859_1).trim();
                    if (system.startsWith("EL TORITO SPECIFICATION") && v.bootCatalog < 0) {
                        v.bootCatalog = DirRecord.le32(b, 0x47);
                        v.bootRecordBlock = lba;
                    }
                }
                case 1 -> {
                    if (v.primaryRoot == null) {
                        v.primaryBlock = lba;
                        v.volumeId = new String(b, 40, 32, StandardCharsets.ISO_8859_1).trim();
                        v.volumeBlocks = DirRecord.le32(b, 80);
                        v.logicalBlockSize = DirRecord.le16(b, 128);
                        v.primaryRoot = java.util.Arrays.copyOfRange(b, 156, 156 + 34);
                    }
                }
                case 2 -> {
                    int level = jolietLevel(b);
                    if (level > 0 && v.jolietRoot == null) {
                        v.jolietLevel = level;
                        v.jolietBlock = lba;
                        v.jolietRoot = java.util.Arrays.copyOfRange(b, 156, 156 + 34);
                    }
                }
                default -> {
                    // partition descriptors (3) and others: nothing to read
                }
            }
        }
        if (v.primaryRoot == null) {
            throw IsoErrors.corrupt("no primary volume descriptor in the set from block 16");
        }
        return v;
    }

    /** Joliet's escape sequences (field at 88): %/@ level 1, %/C level 2, %/E level 3; 0 if none. */
    private static int jolietLevel(byte[] b) {
        if (b[88] == '%' && b[89] == '/') {
            return switch (b[90]) {
                case '@' -> 1;
                case 'C' -> 2;
                case 'E' -> 3;
                default -> 0;
            };
        }
        return 0;
    }

    /** A root record from a descriptor, parsed as a directory record at that descriptor's block and offset 156. */
    static DirRecord root(byte[] rootRecord, long descriptorBlock) throws ErrnoException {
        byte[] b = new byte[IsoDevice.BLOCK];
        System.arraycopy(rootRecord, 0, b, 156, rootRecord.length);
        DirRecord r = DirRecord.parse(b, 156, descriptorBlock);
        if (!r.isDirectory()) {
            throw IsoErrors.corrupt("root directory record in the volume descriptor at block " + descriptorBlock
                    + " is not a directory");
        }
        return r;
    }
}
