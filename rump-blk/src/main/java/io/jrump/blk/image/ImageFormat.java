package io.jrump.blk.image;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/** Disk-image formats, told apart by their first bytes. */
public enum ImageFormat {
    RAW, QCOW2, VMDK, VHD;

    /** The format of an image file by its content; RAW when no signature matches. */
    public static ImageFormat detect(ImageFile file) throws ErrnoException {
        if (file.size() >= 4) {
            ByteBuffer head = ByteBuffer.allocate((int) Math.min(512, file.size()));
            file.read(0, head);
            int magic = head.getInt(0);
            if (magic == Qcow2Header.MAGIC) {
                return QCOW2;
            }
            if (magic == 0x4b444d56) { // "KDMV": monolithicSparse VMDK
                return VMDK;
            }
            if (head.capacity() >= 8 && isVhdFooter(head, 0)) {
                return VHD;
            }
        }
        if (file.size() >= 512) {
            ByteBuffer tail = ByteBuffer.allocate(512);
            file.read(file.size() - 512, tail);
            if (isVhdFooter(tail, 0)) {
                return VHD;
            }
        }
        return RAW;
    }

    private static boolean isVhdFooter(ByteBuffer b, int at) {
        return b.getLong(at) == 0x636f6e6563746978L; // "conectix"
    }

    public String displayName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
