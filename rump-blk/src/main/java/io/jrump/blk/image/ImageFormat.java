package io.jrump.blk.image;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Disk-image formats, told apart by their signatures — every format qemu-img knows, so that a
 * container jrump cannot read is refused by name and never taken for a raw disk (which would
 * show the container's bytes as the disk's: a silent wrong answer). RAW only when no signature
 * matches.
 */
public enum ImageFormat {
    RAW("raw"),
    QCOW2("qcow2"),
    QCOW("qcow"),
    QED("qed"),
    VDI("vdi"),
    VMDK("vmdk"),
    VHD("vhd"),
    VHDX("vhdx"),
    PARALLELS("parallels"),
    DMG("dmg"),
    LUKS("luks"),
    CLOOP("cloop"),
    BOCHS("bochs");

    /** A format and the evidence for it: which signature, found where. */
    public record Detection(ImageFormat format, String evidence) {
    }

    private static final int HEAD = 1024;
    private final String displayName;

    ImageFormat(String displayName) {
        this.displayName = displayName;
    }

    /** The format of an image file by its content; RAW when no signature matches. */
    public static ImageFormat detect(ImageFile file) throws ErrnoException {
        return identify(file).format();
    }

    /** The format of an image file by its content, with the signature that says so. */
    public static Detection identify(ImageFile file) throws ErrnoException {
        long size = file.size();
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(HEAD, size));
        file.read(0, head);
        Detection d = byHead(head);
        if (d != null) {
            return d;
        }
        if (size >= 512) {
            ByteBuffer tail = ByteBuffer.allocate(512);
            file.read(size - 512, tail);
            if (tail.getLong(0) == 0x636f6e6563746978L) { // "conectix": a fixed VHD has only the footer
                return new Detection(VHD, "VHD footer \"conectix\" at byte " + (size - 512) + " (512 bytes from the end)");
            }
            if (tail.getInt(0) == 0x6b6f6c79) { // "koly"
                return new Detection(DMG, "DMG trailer \"koly\" at byte " + (size - 512) + " (512 bytes from the end)");
            }
        }
        if (size >= 511) {
            ByteBuffer old = ByteBuffer.allocate(8);
            file.read(size - 511, old);
            if (old.getLong(0) == 0x636f6e6563746978L) { // Virtual PC before 2004 wrote a 511-byte footer
                return new Detection(VHD, "VHD footer \"conectix\" at byte " + (size - 511) + " (511 bytes from the end)");
            }
        }
        return new Detection(RAW, "no image signature");
    }

    private static Detection byHead(ByteBuffer b) {
        int n = b.capacity();
        if (n >= 8) {
            int magic = b.getInt(0);
            if (magic == Qcow2Header.MAGIC) {
                int version = b.getInt(4);
                if (version == 1) {
                    return new Detection(QCOW, "qcow magic \"QFI\\xfb\" at byte 0, version 1");
                }
                return new Detection(QCOW2, "qcow magic \"QFI\\xfb\" at byte 0, version " + version);
            }
            if (magic == 0x51454400) { // "QED\0"
                return new Detection(QED, "QED magic \"QED\\0\" at byte 0");
            }
            if (magic == 0x4b444d56) { // "KDMV": hosted sparse extent (monolithicSparse, streamOptimized, ...)
                return new Detection(VMDK, "VMDK sparse extent magic \"KDMV\" at byte 0");
            }
            if (magic == 0x434f5744) { // "COWD": ESX sparse extent
                return new Detection(VMDK, "VMDK ESX sparse extent magic \"COWD\" at byte 0");
            }
            if (b.getLong(0) == 0x636f6e6563746978L) {
                return new Detection(VHD, "VHD footer copy \"conectix\" at byte 0 (a dynamic or differencing VHD)");
            }
            if (b.getLong(0) == 0x7668647866696c65L) { // "vhdxfile"
                return new Detection(VHDX, "VHDX file identifier \"vhdxfile\" at byte 0");
            }
            if (n >= 6 && (b.getInt(0) == 0x4c554b53 && (b.getShort(4) & 0xffff) == 0xbabe)) { // "LUKS\xba\xbe"
                return new Detection(LUKS, "LUKS magic \"LUKS\\xba\\xbe\" at byte 0");
            }
        }
        if (n >= 16) {
            String sig = ascii(b, 0, 16);
            if (sig.equals("WithoutFreeSpace") || sig.equals("WithouFreSpacExt")) {
                return new Detection(PARALLELS, "Parallels signature \"" + sig + "\" at byte 0");
            }
        }
        if (n >= 0x44 && b.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(0x40) == 0xbeda107f) {
            return new Detection(VDI, "VDI signature 0xbeda107f at byte 0x40");
        }
        if (n >= 22 && ascii(b, 0, 22).equals("Bochs Virtual HD Image")) {
            return new Detection(BOCHS, "bochs signature \"Bochs Virtual HD Image\" at byte 0");
        }
        String text = ascii(b, 0, Math.min(n, 256));
        if (text.startsWith("#!/bin/sh") && text.contains("#V2.0 Format")) {
            return new Detection(CLOOP, "cloop header \"#V2.0 Format\" in its first line");
        }
        if (text.startsWith("# Disk DescriptorFile") || text.contains("\n# Disk DescriptorFile")) {
            return new Detection(VMDK, "VMDK descriptor \"# Disk DescriptorFile\" at the start");
        }
        return null;
    }

    private static String ascii(ByteBuffer b, int at, int length) {
        byte[] raw = new byte[length];
        b.get(at, raw);
        return new String(raw, StandardCharsets.ISO_8859_1);
    }

    public String displayName() {
        return displayName;
    }

    /** As a user names it: "VDI", "qcow2" (the QEMU formats keep their lower-case names). */
    String title() {
        return switch (this) {
            case QCOW, QCOW2, QED, RAW -> displayName;
            case PARALLELS -> "Parallels";
            case BOCHS -> "bochs";
            case CLOOP -> "cloop";
            default -> displayName.toUpperCase(Locale.ROOT);
        };
    }
}
