package io.jrump.blk.image;

import static io.jrump.blk.image.Vhdx.corrupt;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A differencing VHDX's link to its parent ([MS-VHDX] 2.6.2.6): the Parent Locator item's
 * key-value pairs (UTF-16LE strings at offsets inside the item, every one checked to lie in it),
 * the parent's path from {@code relative_path} (resolved against the child's directory), else
 * {@code absolute_win32_path}; and the parent's DataWriteGuid checked against
 * {@code parent_linkage} (or {@code parent_linkage2}), so that a child is never read over a
 * parent that changed since the child was made.
 */
final class VhdxParent {
    /** The locator type of a VHDX parent. */
    static final byte[] VHDX_LOCATOR = Vhdx.guid("B04AEFB7-D19E-4A81-B789-25B8E9445913");

    private VhdxParent() {
    }

    /** The locator's keys and values. */
    static Map<String, String> parse(String n, ByteBuffer item) throws ErrnoException {
        int size = item.capacity();
        if (size < 20) {
            throw corrupt(n, "Parent Locator item of " + size + " bytes is shorter than its 20-byte header");
        }
        byte[] type = Vhdx.guidAt(item, 0);
        if (!Arrays.equals(type, VHDX_LOCATOR)) {
            throw new ErrnoException(Errno.EOPNOTSUPP, n + ": VHDX parent locator type " + Vhdx.guidText(type)
                    + " (jrump follows the VHDX locator " + Vhdx.guidText(VHDX_LOCATOR) + ")");
        }
        int count = item.getShort(18) & 0xffff;
        if (20 + 12L * count > size) {
            throw corrupt(n, "Parent Locator's " + count + " entries overrun its " + size + " bytes");
        }
        Map<String, String> entries = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            int e = 20 + 12 * i;
            String key = string(n, item, Integer.toUnsignedLong(item.getInt(e)), item.getShort(e + 8) & 0xffff, i, "key");
            String value = string(n, item, Integer.toUnsignedLong(item.getInt(e + 4)), item.getShort(e + 10) & 0xffff, i,
                    "value");
            if (entries.put(key, value) != null) {
                throw corrupt(n, "Parent Locator entry " + i + " repeats the key '" + key + "'");
            }
        }
        return entries;
    }

    private static String string(String n, ByteBuffer item, long at, int length, int i, String what) throws ErrnoException {
        if (length == 0 || length % 2 != 0 || at > item.capacity() - length) {
            throw corrupt(n, "Parent Locator entry " + i + ": " + what + " of " + length + " bytes at " + at
                    + " is not UTF-16 inside the item's " + item.capacity() + " bytes");
        }
        byte[] b = new byte[length];
        item.get((int) at, b);
        return new String(b, StandardCharsets.UTF_16LE);
    }

    /** The paths to try, best first, as POSIX paths (a Windows {@code .\dir\p.vhdx} is {@code dir/p.vhdx}). */
    static List<String> candidates(String n, Map<String, String> locator) throws ErrnoException {
        List<String> paths = new ArrayList<>();
        for (String key : new String[] {"relative_path", "absolute_win32_path"}) {
            String v = locator.get(key);
            if (v != null) {
                String p = v.replace('\\', '/');
                while (p.startsWith("./")) {
                    p = p.substring(2);
                }
                if (!p.isEmpty()) {
                    paths.add(p);
                }
            }
        }
        if (paths.isEmpty()) {
            throw corrupt(n, "Parent Locator has neither relative_path nor absolute_win32_path");
        }
        return paths;
    }

    /** Opens the parent read-only by the first path that exists, checks it is the disk the child was made from. */
    static VhdxImage open(String n, Map<String, String> locator, Qcow2Image.BackingOpener parents, int depth)
            throws ErrnoException {
        String linkage = locator.get("parent_linkage");
        if (linkage == null) {
            throw corrupt(n, "Parent Locator has no parent_linkage");
        }
        ErrnoException missing = null;
        for (String path : candidates(n, locator)) {
            BlockDevice dev;
            try {
                dev = parents.open(path, "vhdx", depth + 1);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ENOENT) {
                    missing = e;
                    continue;
                }
                throw e;
            }
            if (!(dev instanceof VhdxImage parent)) {
                dev.close();
                throw corrupt(n, "parent " + path + " is not a VHDX image");
            }
            String actual = Vhdx.guidText(parent.dataWriteGuid());
            if (!sameGuid(actual, linkage) && !sameGuid(actual, locator.get("parent_linkage2"))) {
                parent.close();
                throw corrupt(n, "parent " + path + " has DataWriteGuid {" + actual + "} but the child was made from "
                        + linkage + " (parent_linkage): the parent changed since");
            }
            return parent;
        }
        throw new ErrnoException(Errno.ENOENT, n + ": VHDX parent not found at " + candidates(n, locator)
                + (missing == null ? "" : " (" + missing.getMessage() + ")"));
    }

    private static boolean sameGuid(String guid, String text) {
        if (text == null) {
            return false;
        }
        String t = text.strip();
        if (t.startsWith("{") && t.endsWith("}")) {
            t = t.substring(1, t.length() - 1);
        }
        return t.toUpperCase(Locale.ROOT).equals(guid);
    }

    /** A VHDX Parent Locator item holding these keys and values, as {@link #parse} reads it. */
    static byte[] encode(String... keyValues) {
        int count = keyValues.length / 2;
        byte[][] text = new byte[keyValues.length][];
        int length = 20 + 12 * count;
        for (int i = 0; i < keyValues.length; i++) {
            text[i] = keyValues[i].getBytes(StandardCharsets.UTF_16LE);
            length += text[i].length;
        }
        ByteBuffer b = Vhdx.le(length);
        b.put(0, VHDX_LOCATOR).putShort(18, (short) count);
        int at = 20 + 12 * count;
        for (int i = 0; i < keyValues.length; i++) {
            int e = 20 + 12 * (i / 2);
            b.putInt(e + (i % 2) * 4, at).putShort(e + 8 + (i % 2) * 2, (short) text[i].length);
            b.put(at, text[i]);
            at += text[i].length;
        }
        return b.array();
    }
}
