package io.jrump.blk.part;

/**
 * One partition as a table describes it.
 *
 * @param number     1–4 for MBR primaries, 5 on for logicals; the entry index + 1 for GPT
 * @param firstLba   first sector, in the table's sector unit ({@link PartitionTable#sectorSize()})
 * @param lastLba    last sector, inclusive
 * @param type       MBR type as two hex digits ({@code "83"}) or a GPT type GUID
 * @param typeName   a friendly name of the type, or empty
 * @param name       the GPT partition name, or empty
 * @param uuid       the GPT unique partition GUID, or null for MBR
 * @param attributes GPT attribute bits, or 0x80 for a bootable MBR partition
 * @param problem    why the partition cannot be used (it runs past the end of the disk, overlaps
 *                   another, lies outside the usable sectors), or empty for a sound one; a bad
 *                   partition is listed but {@link Partitions#open} refuses it
 */
public record Partition(int number, long firstLba, long lastLba, String type, String typeName, String name,
                        Guid uuid, long attributes, String problem) {

    public Partition {
        problem = problem == null ? "" : problem;
    }

    /** A sound partition. */
    public Partition(int number, long firstLba, long lastLba, String type, String typeName, String name, Guid uuid,
            long attributes) {
        this(number, firstLba, lastLba, type, typeName, name, uuid, attributes, "");
    }

    /** Whether the table describes this partition in a way that makes it unsafe to open. */
    /** Whether this is an MBR extended partition: a container of logical partitions, not a volume. */
    public boolean isExtended() {
        return PartitionType.isExtendedType(this);
    }

    public boolean isBad() {
        return !problem.isEmpty();
    }

    /** This partition with {@code why} added to its problems. */
    Partition withProblem(String why) {
        return new Partition(number, firstLba, lastLba, type, typeName, name, uuid, attributes,
                problem.isEmpty() ? why : problem + "; " + why);
    }

    /** This partition as sound, its problems forgotten (for a new check of the layout). */
    Partition sound() {
        return new Partition(number, firstLba, lastLba, type, typeName, name, uuid, attributes, "");
    }

    /** Sectors: 0 for an entry that ends before it starts, at most {@code Long.MAX_VALUE} for absurd ones. */
    public long sectors() {
        if (lastLba < firstLba) {
            return 0;
        }
        long span = lastLba - firstLba;
        return span < 0 || span == Long.MAX_VALUE ? Long.MAX_VALUE : span + 1;
    }

    /** Size in bytes for the given sector size, at most {@code Long.MAX_VALUE}. */
    public long sizeBytes(int sectorSize) {
        long n = sectors();
        return n > Long.MAX_VALUE / sectorSize ? Long.MAX_VALUE : n * sectorSize;
    }
}
