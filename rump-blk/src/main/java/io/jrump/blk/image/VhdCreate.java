package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Lays out new VHD files: the footer, and for dynamic and differencing disks the footer copy at
 * byte 0, the dynamic header at 512, the BAT (all blocks unallocated) and a differencing disk's
 * parent locators after it.
 */
final class VhdCreate {
    private static final int CREATOR_OS_WINDOWS = 0x5769326b; // "Wi2k", as Virtual PC and qemu write
    private static final int LOCATOR_RELATIVE = 0x57327275; // "W2ru": relative path, UTF-16LE
    private static final int LOCATOR_ABSOLUTE = 0x57326b75; // "W2ku": absolute path, UTF-16LE

    /** What a differencing child records of its parent. */
    record ParentLink(byte[] uniqueId, int timestamp, String relativeName, String absoluteName) {
    }

    private VhdCreate() {
    }

    static void create(ImageFile file, long requestedSize, int type, byte[] uniqueId, long wallNanos, ParentLink parent)
            throws ErrnoException {
        if (requestedSize < 0 || requestedSize > (2040L << 30)) {
            throw new ErrnoException(Errno.EFBIG, file.name() + ": a VHD holds up to 2040 GiB, not " + requestedSize + " bytes");
        }
        if (uniqueId.length != 16) {
            throw new IllegalArgumentException("unique id of " + uniqueId.length + " bytes");
        }
        long size = VhdImage.geometrySize(requestedSize);
        int[] chs = VhdImage.geometry(size / 512);
        ByteBuffer footer = ByteBuffer.allocate(VhdImage.FOOTER);
        footer.putLong(0, VhdImage.footerCookie()).putInt(8, 2).putInt(12, 0x0001_0000);
        footer.putLong(16, type == VhdImage.TYPE_FIXED ? -1L : 512);
        footer.putInt(24, (int) VhdImage.vhdSeconds(wallNanos));
        footer.put(28, "rump".getBytes(StandardCharsets.US_ASCII)).putInt(32, 0x0001_0000).putInt(36, CREATOR_OS_WINDOWS);
        footer.putLong(40, size).putLong(48, size);
        footer.putShort(56, (short) chs[0]).put(58, (byte) chs[1]).put(59, (byte) chs[2]);
        footer.putInt(60, type).put(68, uniqueId);
        footer.putInt(64, (int) VhdImage.checksum(footer, 64));
        if (type == VhdImage.TYPE_FIXED) {
            file.write(size, footer);
            return;
        }
        int blockSize = VhdImage.CREATE_BLOCK_SIZE;
        int entries = (int) ((size + blockSize - 1) / blockSize);
        long batOffset = 1536;
        long batBytes = VhdImage.roundUp(entries * 4, 512);
        ByteBuffer bat = ByteBuffer.allocate((int) batBytes);
        while (bat.hasRemaining()) {
            bat.put((byte) 0xff);
        }
        ByteBuffer header = ByteBuffer.allocate(1024);
        header.putLong(0, VhdImage.sparseCookie()).putLong(8, -1L).putLong(16, batOffset).putInt(24, 0x0001_0000);
        header.putInt(28, entries).putInt(32, blockSize);
        long end = batOffset + batBytes;
        if (parent != null) {
            header.put(40, parent.uniqueId()).putInt(56, parent.timestamp());
            byte[] unicode = fileName(parent.absoluteName()).getBytes(StandardCharsets.UTF_16BE);
            header.put(64, unicode, 0, Math.min(unicode.length, 510));
            end = locator(file, header, 0, LOCATOR_RELATIVE, windowsPath(parent.relativeName()), end);
            end = locator(file, header, 1, LOCATOR_ABSOLUTE, parent.absoluteName(), end);
        }
        header.putInt(36, (int) VhdImage.checksum(header, 36));
        file.write(0, footer.duplicate());
        file.write(512, header);
        file.write(batOffset, bat.flip());
        file.write(end, footer);
    }

    /** Writes locator {@code index}'s path data at {@code at}; returns where the next thing goes. */
    private static long locator(ImageFile file, ByteBuffer header, int index, int code, String path, long at)
            throws ErrnoException {
        byte[] data = path.getBytes(StandardCharsets.UTF_16LE);
        int space = VhdImage.roundUp(Math.max(data.length, 1), 512);
        int e = 576 + 24 * index;
        header.putInt(e, code).putInt(e + 4, space / 512).putInt(e + 8, data.length).putLong(e + 16, at);
        file.write(at, ByteBuffer.wrap(data));
        return at + space;
    }

    /** A relative path as Windows writes it in a W2ru locator: {@code .\name}. */
    private static String windowsPath(String relative) {
        String p = relative.replace('/', '\\');
        return p.startsWith(".\\") || p.startsWith("..\\") ? p : ".\\" + p;
    }

    private static String fileName(String path) {
        int slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
        return path.substring(slash + 1);
    }
}
