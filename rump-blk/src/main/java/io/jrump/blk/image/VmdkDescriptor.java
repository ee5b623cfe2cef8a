package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A VMDK descriptor (Virtual Disk Format 1.1 § "The Descriptor File"): lines of
 * {@code key = "value"}, extent lines {@code RW <sectors> SPARSE|FLAT|ZERO|VMFS "file" [offset]}
 * and comments. Parsed strictly: a line that is none of these, an extent without the file its
 * type needs, or more than {@link #MAX_EXTENTS} extents is {@code EUCLEAN} naming the line.
 */
record VmdkDescriptor(Map<String, String> values, List<Extent> extents) {
    /** Largest descriptor read, in a file or embedded: 1 MiB (qemu reads no more either). */
    static final int MAX_BYTES = 1 << 20;
    /** Most extents one descriptor may name: a 2 TiB disk in twoGbMaxExtent files has 1024. */
    static final int MAX_EXTENTS = 4096;

    private static final Pattern EXTENT = Pattern.compile(
            "(RW|RDONLY|NOACCESS)\\s+(\\d{1,18})\\s+([A-Za-z]+)(?:\\s+\"([^\"]*)\"(?:\\s+(\\d{1,18}))?)?");
    private static final Pattern VALUE = Pattern.compile("([A-Za-z0-9_.]+)\\s*=\\s*(.*)");

    /** One extent line: access, length in sectors, type, file (null for ZERO), offset in sectors. */
    record Extent(String access, long sectors, String type, String file, long offset, int line) {
    }

    static VmdkDescriptor parse(String name, String text) throws ErrnoException {
        Map<String, String> values = new HashMap<>();
        List<Extent> extents = new ArrayList<>();
        int nul = text.indexOf('\0');
        // The text ends at its first NUL: qemu pads a descriptor file to whole sectors with them.
        String[] lines = (nul < 0 ? text : text.substring(0, nul)).split("\n", -1);
        long total = 0;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            int no = i + 1;
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            Matcher m = EXTENT.matcher(line);
            if (m.matches()) {
                String type = m.group(3).toUpperCase(Locale.ROOT);
                String file = m.group(4);
                long offset = m.group(5) == null ? 0 : Long.parseLong(m.group(5));
                long sectors = Long.parseLong(m.group(2));
                boolean hasFile = file != null;
                if (type.equals("ZERO") == hasFile || (type.equals("SPARSE") && m.group(5) != null)) {
                    throw corrupt(name, no, type + " extent " + (hasFile ? "with" : "without") + " a file"
                            + (m.group(5) != null ? " and offset" : "") + ": " + shorten(line));
                }
                if (hasFile && file.isEmpty()) {
                    throw corrupt(name, no, "extent with an empty file name");
                }
                if (extents.size() == MAX_EXTENTS) {
                    throw corrupt(name, no, "more than " + MAX_EXTENTS + " extents");
                }
                total += sectors;
                if (total > Long.MAX_VALUE / 512 / 2) {
                    throw corrupt(name, no, "extents add up to more sectors than a disk can have");
                }
                extents.add(new Extent(m.group(1), sectors, type, file, offset, no));
                continue;
            }
            m = VALUE.matcher(line);
            if (m.matches()) {
                String v = m.group(2).strip();
                if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                    v = v.substring(1, v.length() - 1);
                }
                values.put(m.group(1), v);
                continue;
            }
            throw corrupt(name, no, "neither an extent, a key = value nor a comment: " + shorten(line));
        }
        return new VmdkDescriptor(values, extents);
    }

    String createType() {
        return values.getOrDefault("createType", "");
    }

    /** Whether this disk is a child (delta) of a parent disk: parentCID other than ffffffff. */
    boolean hasParent() {
        String p = values.get("parentCID");
        return p != null && !p.equalsIgnoreCase("ffffffff");
    }

    private static String shorten(String line) {
        return line.length() > 80 ? line.substring(0, 80) + "..." : line;
    }

    private static ErrnoException corrupt(String name, int line, String what) {
        return new ErrnoException(Errno.EUCLEAN, name + ": VMDK descriptor line " + line + ": " + what);
    }

    /**
     * The descriptor text jrump writes for a one-extent disk (monolithicSparse, streamOptimized);
     * a child names its parent's CID and file ({@code parentCid} null for none).
     */
    static String single(String createType, long sectors, String file, int cid, String parentCid, String parentName) {
        return text(createType, sectors, cid, parentCid, parentName, "RW " + sectors + " SPARSE \"" + file + "\"\n");
    }

    /** The descriptor text with the given extent lines (each ending in a newline). */
    static String text(String createType, long sectors, int cid, String parentCid, String parentName, String extents) {
        long cylinders = Math.min(sectors / (16 * 63), 16383);
        return "# Disk DescriptorFile\n"
                + "version=1\n"
                + "CID=" + String.format("%08x", cid) + "\n"
                + "parentCID=" + (parentCid == null ? "ffffffff" : parentCid) + "\n"
                + "createType=\"" + createType + "\"\n"
                + (parentCid == null ? "" : "parentFileNameHint=\"" + parentName + "\"\n")
                + "\n"
                + "# Extent description\n"
                + extents
                + "\n"
                + "# The Disk Data Base\n"
                + "#DDB\n"
                + "\n"
                + "ddb.virtualHWVersion = \"4\"\n"
                + "ddb.geometry.cylinders = \"" + cylinders + "\"\n"
                + "ddb.geometry.heads = \"16\"\n"
                + "ddb.geometry.sectors = \"63\"\n"
                + "ddb.adapterType = \"ide\"\n";
    }
}
