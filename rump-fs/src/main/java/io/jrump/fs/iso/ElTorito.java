package io.jrump.fs.iso;

import io.jrump.hypercall.ErrnoException;
import java.util.ArrayList;
import java.util.List;

/**
 * An El Torito boot catalog (El Torito 1.0, section 2): the validation entry (checksum and the
 * 55 AA key), the initial/default entry, and section headers with their entries, per platform.
 * Read from at most {@link #MAX_BLOCKS} blocks.
 */
record ElTorito(long catalogBlock, List<Entry> entries) {
    static final int MAX_BLOCKS = 4;

    /** One boot image: platform, whether bootable, emulation, load segment, system type, 512-byte sectors, load block. */
    record Entry(int platform, boolean bootable, int mediaType, int loadSegment, int systemType, int sectorCount,
                 long loadBlock) {
        String platformName() {
            return ElTorito.platformName(platform);
        }

        String mediaName() {
            return switch (mediaType & 0x0f) {
                case 0 -> "no emulation";
                case 1 -> "1.2M floppy emulation";
                case 2 -> "1.44M floppy emulation";
                case 3 -> "2.88M floppy emulation";
                case 4 -> "hard disk emulation";
                default -> "media type " + (mediaType & 0x0f);
            };
        }

        /** One line for {@code rump image info}. */
        String describe() {
            return platformName() + ", " + (bootable ? "bootable" : "not bootable") + ", " + mediaName()
                    + ", load segment 0x" + Integer.toHexString(loadSegment == 0 ? 0x7c0 : loadSegment)
                    + (loadSegment == 0 ? " (default)" : "") + ", " + sectorCount + " sectors of 512 bytes at block "
                    + loadBlock;
        }
    }

    static String platformName(int platform) {
        return switch (platform) {
            case 0 -> "x86 BIOS";
            case 1 -> "PowerPC";
            case 2 -> "Mac";
            case 0xEF -> "UEFI";
            default -> "platform 0x" + Integer.toHexString(platform);
        };
    }

    static ElTorito read(IsoDevice dev, long catalogBlock) throws ErrnoException {
        String where = "El Torito boot catalog at block " + catalogBlock;
        byte[] first = dev.block(catalogBlock, where);
        if (first[0] != 1) {
            throw IsoErrors.corrupt(where + ": validation entry header id " + (first[0] & 0xff) + ", not 1");
        }
        if ((first[30] & 0xff) != 0x55 || (first[31] & 0xff) != 0xAA) {
            throw IsoErrors.corrupt(where + ": validation entry lacks the 55 AA key");
        }
        int sum = 0;
        for (int i = 0; i < 32; i += 2) {
            sum += DirRecord.le16(first, i);
        }
        if ((sum & 0xffff) != 0) {
            throw IsoErrors.corrupt(where + ": validation entry checksum does not sum to 0 (0x"
                    + Integer.toHexString(sum & 0xffff) + ")");
        }
        int platform = first[1] & 0xff;
        List<Entry> entries = new ArrayList<>();
        entries.add(entry(first, 32, platform));
        int blocks = 1;
        byte[] b = first;
        int pos = 64;
        boolean more = true;
        while (more) {
            if (pos >= IsoDevice.BLOCK) {
                if (++blocks > MAX_BLOCKS) {
                    throw IsoErrors.corrupt(where + ": longer than " + MAX_BLOCKS + " blocks");
                }
                b = dev.block(catalogBlock + blocks - 1, where);
                pos = 0;
            }
            int header = b[pos] & 0xff;
            if (header != 0x90 && header != 0x91) {
                break; // no (more) section headers
            }
            more = header == 0x90;
            int sectionPlatform = b[pos + 1] & 0xff;
            int count = DirRecord.le16(b, pos + 2);
            pos += 32;
            for (int i = 0; i < count; i++) {
                if (pos >= IsoDevice.BLOCK) {
                    if (++blocks > MAX_BLOCKS) {
                        throw IsoErrors.corrupt(where + ": longer than " + MAX_BLOCKS + " blocks");
                    }
                    b = dev.block(catalogBlock + blocks - 1, where);
                    pos = 0;
                }
                int indicator = b[pos] & 0xff;
                if (indicator == 0x44) { // an extension entry belongs to the one before: skip it
                    i--;
                    pos += 32;
                    continue;
                }
                if (indicator != 0x88 && indicator != 0x00) {
                    throw IsoErrors.corrupt(where + ": section entry at byte " + pos + " has boot indicator 0x"
                            + Integer.toHexString(indicator));
                }
                entries.add(entry(b, pos, sectionPlatform));
                pos += 32;
            }
        }
        return new ElTorito(catalogBlock, List.copyOf(entries));
    }

    private static Entry entry(byte[] b, int p, int platform) {
        return new Entry(platform, (b[p] & 0xff) == 0x88, b[p + 1] & 0xff, DirRecord.le16(b, p + 2), b[p + 4] & 0xff,
                DirRecord.le16(b, p + 6), DirRecord.le32(b, p + 8));
    }

    /** "El Torito bootable (2 entries: x86 BIOS, UEFI)". */
    String summary() {
        StringBuilder s = new StringBuilder("El Torito bootable (").append(entries.size())
                .append(entries.size() == 1 ? " entry: " : " entries: ");
        for (int i = 0; i < entries.size(); i++) {
            s.append(i > 0 ? ", " : "").append(entries.get(i).platformName());
        }
        return s.append(')').toString();
    }
}
