package io.jrump.fs.vfs;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.part.PartitionTable;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * The filesystem types on the class path ({@link ServiceLoader}), and the one place that says
 * what a device holds: every caller that sniffs a device asks {@link #identify}, so a device
 * nobody reads gets the same message everywhere. Thread-safe.
 */
public final class FileSystemTypes {
    /** How much of a device's start {@link #identify} reads to tell a blank disk. */
    private static final int BLANK_PROBE_BYTES = 64 * 1024;

    /** A type that recognized a device, and what it found. */
    public record Match(FileSystemType type, String description) {
    }

    private FileSystemTypes() {
    }

    /** Every type on the class path of this library, by name. */
    public static List<FileSystemType> all() {
        List<FileSystemType> out = new ArrayList<>();
        ServiceLoader.load(FileSystemType.class, FileSystemType.class.getClassLoader()).forEach(out::add);
        out.sort(Comparator.comparing(FileSystemType::name));
        return out;
    }

    /** The type called {@code name} (or one of its aliases); {@code ENODEV}, as mount(2) says, if none. */
    public static FileSystemType byName(String name) throws ErrnoException {
        String n = name.toLowerCase(Locale.ROOT);
        List<FileSystemType> types = all();
        for (FileSystemType t : types) {
            if (t.name().equals(n) || t.aliases().contains(n)) {
                return t;
            }
        }
        throw new ErrnoException(Errno.ENODEV, "unknown filesystem type '" + name + "' (known: " + names(types) + ")");
    }

    /** The first type that recognizes the device, if any. */
    public static Optional<Match> probe(BlockDevice dev) throws ErrnoException {
        for (FileSystemType t : all()) {
            Optional<String> d = t.probe(dev);
            if (d.isPresent()) {
                return Optional.of(new Match(t, d.get()));
            }
        }
        return Optional.empty();
    }

    /**
     * The type that recognizes the device.
     *
     * @throws ErrnoException {@code EINVAL} (mount(2)'s "wrong fs type") naming the device and
     *     saying what it seems to hold instead
     */
    public static Match identify(BlockDevice dev) throws ErrnoException {
        Optional<Match> m = probe(dev);
        if (m.isPresent()) {
            return m.get();
        }
        throw new ErrnoException(Errno.EINVAL, dev.name() + ": " + unrecognized(dev));
    }

    /** Why no type took the device, and what it holds instead. */
    private static String unrecognized(BlockDevice dev) throws ErrnoException {
        String known = "no filesystem this library reads (" + names(all()) + ")";
        if (dev.size() < 512) {
            return "too small to hold a filesystem (" + dev.size() + " bytes); " + known;
        }
        try {
            PartitionTable t = PartitionTable.read(dev);
            return known + "; it holds " + tableName(t) + (t.partitions().isEmpty() ? ""
                    : ": name one, as in " + dev.name() + ":" + t.partitions().get(0).number());
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ENODATA) {
                return known + "; it holds a partition table that cannot be read (" + e.getMessage() + ")";
            }
        }
        return known + blankHint(dev);
    }

    /**
     * {@code noTable} ({@code ENODATA} from reading {@code disk}'s partition table, as opening one
     * of its partitions does) with what the disk holds instead ({@link #contentsWithoutTable}) and,
     * if a filesystem, to name no partition. Any other error is returned as it is.
     */
    public static ErrnoException withContents(ErrnoException noTable, BlockDevice disk) {
        if (noTable.errno() != Errno.ENODATA) {
            return noTable;
        }
        try {
            Optional<Match> m = probe(disk);
            String hint = m.isPresent() ? ": name no partition, as in " + disk.name() : "";
            return new ErrnoException(Errno.ENODATA, noTable.detail() + "; " + contentsWithoutTable(disk, m) + hint, noTable);
        } catch (ErrnoException | RuntimeException e) {
            return noTable; // saying what it holds failed: the first error is the one to report
        }
    }

    /**
     * What a disk without a partition table holds, given what {@link #probe} found on it, in the
     * words {@link #identify} uses: "the whole disk holds a filesystem (ext4, …)", or "no
     * filesystem this library reads either", with "; its first 64 KiB are zeros (a blank disk?)"
     * when they are.
     */
    public static String contentsWithoutTable(BlockDevice disk, Optional<Match> m) throws ErrnoException {
        return m.isPresent() ? "the whole disk holds a filesystem (" + m.get().description() + ")"
                : "no filesystem this library reads either" + blankHint(disk);
    }

    /** "; its first 64 KiB are zeros (a blank disk?)" when they are, else "". */
    private static String blankHint(BlockDevice dev) throws ErrnoException {
        if (dev.size() < 512) {
            return "";
        }
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(BLANK_PROBE_BYTES, dev.size()));
        dev.read(0, b);
        for (byte x : b.array()) {
            if (x != 0) {
                return "";
            }
        }
        return "; its first " + (b.capacity() == BLANK_PROBE_BYTES ? "64 KiB are" : b.capacity() + " bytes are")
                + " zeros (a blank disk?)";
    }

    private static String tableName(PartitionTable t) {
        int n = t.partitions().size();
        return "a" + (t.scheme() == PartitionTable.Scheme.MBR ? "n mbr" : " gpt") + " partition table with "
                + (n == 0 ? "no partitions" : n + " partition" + (n == 1 ? "" : "s"));
    }

    private static String names(List<FileSystemType> types) {
        List<String> n = new ArrayList<>();
        for (FileSystemType t : types) {
            n.add(t.aliases().isEmpty() ? t.name() : t.name() + "/" + String.join("/", t.aliases()));
        }
        return n.isEmpty() ? "none on the class path" : String.join(", ", n);
    }
}
