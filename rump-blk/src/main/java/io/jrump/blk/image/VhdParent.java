package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A differencing VHD's link to its parent: the path from the header's parent locators (the
 * relative Windows path first, then the absolute one, then a Mac OS X file URL), every locator
 * checked to lie in the file; and the parent's unique id checked against the one the child
 * recorded, so that a child is never read over a parent it was not made from.
 */
final class VhdParent {
    private static final int LOCATOR_RELATIVE = 0x57327275; // "W2ru"
    private static final int LOCATOR_ABSOLUTE = 0x57326b75; // "W2ku"
    private static final int LOCATOR_MAC_URL = 0x4d616358; // "MacX"
    private static final int MAX_PATH_BYTES = 4096;

    private VhdParent() {
    }

    /** The parent's path as the best locator gives it (a POSIX path, relative or absolute). */
    static String locate(ImageFile file, ByteBuffer header, String n) throws ErrnoException {
        for (int want : new int[] {LOCATOR_RELATIVE, LOCATOR_ABSOLUTE, LOCATOR_MAC_URL}) {
            for (int i = 0; i < 8; i++) {
                int e = 576 + 24 * i;
                if (header.getInt(e) != want) {
                    continue;
                }
                long length = Integer.toUnsignedLong(header.getInt(e + 8));
                long space = Integer.toUnsignedLong(header.getInt(e + 4));
                long at = header.getLong(e + 16);
                if (length == 0 || length > MAX_PATH_BYTES || at < 0 || at > file.size() || length > file.size() - at) {
                    throw VhdImage.corrupt(n, "parent locator " + i + " of " + length + " bytes at byte " + at
                            + " does not lie in the file (" + file.size() + " bytes)");
                }
                if (space > 0 && space < 4096 && length > space * 512) {
                    throw VhdImage.corrupt(n, "parent locator " + i + " of " + length + " bytes overflows its "
                            + space + " sectors");
                }
                byte[] data = new byte[(int) length];
                file.read(at, ByteBuffer.wrap(data));
                return want == LOCATOR_MAC_URL ? macPath(new String(data, StandardCharsets.UTF_8))
                        : posixPath(new String(data, StandardCharsets.UTF_16LE));
            }
        }
        throw VhdImage.corrupt(n, "differencing disk with no W2ru, W2ku or MacX parent locator");
    }

    /** {@code .\dir\parent.vhd} as {@code dir/parent.vhd}; a drive-letter path keeps its letter. */
    private static String posixPath(String windows) {
        String p = windows.replace('\0', ' ').strip().replace('\\', '/');
        while (p.startsWith("./")) {
            p = p.substring(2);
        }
        return p;
    }

    private static String macPath(String url) {
        String p = url.replace("\0", "").strip();
        return p.startsWith("file://") ? p.substring("file://".length()) : p;
    }

    /** The parent must be the disk the child was made from: the unique id it recorded. */
    static void check(String n, ByteBuffer header, BlockDevice parent, long childSize) throws ErrnoException {
        byte[] expected = new byte[16];
        header.get(40, expected);
        if (parent instanceof VhdImage vhd) {
            byte[] actual = vhd.uniqueId();
            if (!Arrays.equals(expected, actual)) {
                throw new ErrnoException(Errno.EUCLEAN, n + ": VHD parent " + parent.name() + " has unique id "
                        + HexFormat.of().formatHex(actual) + " but the child was made from "
                        + HexFormat.of().formatHex(expected) + " (the parent was replaced or modified)");
            }
        } else {
            throw new ErrnoException(Errno.EUCLEAN, n + ": VHD parent " + parent.name() + " is not a VHD (" + parent + ")");
        }
        if (parent.size() > childSize) {
            throw new ErrnoException(Errno.EUCLEAN, n + ": VHD parent " + parent.name() + " of " + parent.size()
                    + " bytes is larger than its differencing child (" + childSize + " bytes)");
        }
    }
}
