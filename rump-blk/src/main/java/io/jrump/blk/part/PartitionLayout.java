package io.jrump.blk.part;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a table's partitions lie: each inside the usable sectors and on the disk, none overlapping
 * another (an extended partition excepted, whose logical partitions lie inside it). A partition
 * that breaks a rule is marked bad ({@link Partition#problem()}) and the table says so in a
 * warning; the others stay usable, as sfdisk lists and the kernel opens them.
 *
 * <p>On an isohybrid image (an ISO9660 volume at byte 32768, as {@code xorriso -isohybrid-mbr}
 * and {@code -isohybrid-gpt-basdat} make) partitions start at sector 0 and overlap on purpose,
 * covering the ISO volume: there those two are warnings only, as long as the partition lies on
 * the disk.
 */
final class PartitionLayout {
    static final String ISOHYBRID = "; accepted: an isohybrid image, whose partitions cover its ISO9660 volume";

    private PartitionLayout() {
    }

    /**
     * The partitions with their problems marked.
     *
     * @param first    the first usable sector
     * @param last     the last usable sector (as the table says; may lie past the disk's end)
     * @param diskLast the disk's last sector
     * @param what     "MBR" or "GPT", for messages
     */
    static List<Partition> check(String disk, String what, List<Partition> parts, long first, long last, long diskLast,
            boolean isoHybrid, List<String> warnings) {
        Map<Integer, Partition> byNumber = new LinkedHashMap<>();
        for (Partition p : parts) {
            String where = disk + ": " + what + " partition " + p.number() + " (sectors " + p.firstLba() + "-"
                    + p.lastLba() + ")";
            if (p.lastLba() < p.firstLba()) {
                p = bad(p, "ends before it starts", where, warnings);
            } else if (p.firstLba() < 0) {
                p = bad(p, "starts before the disk", where, warnings);
            } else if (p.lastLba() > diskLast) {
                p = bad(p, "runs past the end of the disk (its last sector is " + diskLast
                        + "); the image may be truncated", where, warnings);
            } else if (p.firstLba() < first || p.lastLba() > last) {
                String why = "lies outside the usable sectors " + first + "-" + last;
                if (isoHybrid) {
                    warnings.add(where + " " + why + ISOHYBRID);
                } else {
                    p = bad(p, why, where, warnings);
                }
            }
            byNumber.put(p.number(), p);
        }
        markOverlaps(disk, what, byNumber, isoHybrid, warnings);
        return new ArrayList<>(byNumber.values());
    }

    private static Partition bad(Partition p, String why, String where, List<String> warnings) {
        warnings.add(where + " " + why + "; it is listed but cannot be opened");
        return p.withProblem(why);
    }

    /** Marks {@code p} as overlapping {@code other}; the first overlap named is enough (a table may hold thousands). */
    private static void overlaps(Map<Integer, Partition> byNumber, Partition p, Partition other) {
        Partition now = byNumber.get(p.number());
        if (!now.problem().contains("overlaps partition")) {
            byNumber.put(p.number(), now.withProblem("overlaps partition " + other.number() + " (sectors "
                    + other.firstLba() + "-" + other.lastLba() + ")"));
        }
    }

    /**
     * Sorted by start, a sweep that remembers the partition reaching furthest finds every
     * partition that overlaps another, in n log n whatever a table holds.
     */
    private static void markOverlaps(String disk, String what, Map<Integer, Partition> byNumber, boolean isoHybrid,
            List<String> warnings) {
        List<Partition> sorted = new ArrayList<>();
        for (Partition p : byNumber.values()) {
            if (!PartitionType.isExtendedType(p) && p.lastLba() >= p.firstLba()) {
                sorted.add(p);
            }
        }
        sorted.sort(Comparator.comparingLong(Partition::firstLba));
        Partition reach = null;
        for (Partition b : sorted) {
            if (reach != null && b.firstLba() <= reach.lastLba()) {
                Partition a = reach;
                String both = disk + ": " + what + " partitions " + a.number() + " (sectors " + a.firstLba() + "-"
                        + a.lastLba() + ") and " + b.number() + " (sectors " + b.firstLba() + "-" + b.lastLba()
                        + ") overlap";
                if (isoHybrid) {
                    warnings.add(both + ISOHYBRID);
                } else {
                    warnings.add(both + "; neither can be opened");
                    overlaps(byNumber, a, b);
                    overlaps(byNumber, b, a);
                }
            }
            if (reach == null || b.lastLba() > reach.lastLba()) {
                reach = b;
            }
        }
    }
}
