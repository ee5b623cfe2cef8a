package io.jrump.blk.part;

/**
 * One partition as a table describes it.
 *
 * @param number     1–4 for MBR primaries, 5 on for logicals; the entry index + 1 for GPT
 * @param firstLba   first sector
 * @param lastLba    last sector, inclusive
 * @param type       MBR type as two hex digits ({@code "83"}) or a GPT type GUID
 * @param typeName   a friendly name of the type, or empty
 * @param name       the GPT partition name, or empty
 * @param uuid       the GPT unique partition GUID, or null for MBR
 * @param attributes GPT attribute bits, or 0x80 for a bootable MBR partition
 */
public record Partition(int number, long firstLba, long lastLba, String type, String typeName, String name,
                        Guid uuid, long attributes) {

    public long sectors() {
        return lastLba - firstLba + 1;
    }

    /** Size in bytes for the given sector size. */
    public long sizeBytes(int sectorSize) {
        return sectors() * sectorSize;
    }
}
