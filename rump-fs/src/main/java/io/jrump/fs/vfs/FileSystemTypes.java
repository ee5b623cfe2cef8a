package io.jrump.fs.vfs;

import io.jrump.blk.BlockDevice;
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

    /** Why no type took the device, with a hint where one helps. */
    private static String unrecognized(BlockDevice dev) throws ErrnoException {
        String known = "no filesystem this library reads (" + names(all()) + ")";
        if (dev.size() < 512) {
            return "too small to hold a filesystem (" + dev.size() + " bytes); " + known;
        }
        ByteBuffer b = ByteBuffer.allocate(512);
        dev.read(0, b);
        if ((b.get(510) & 0xff) == 0x55 && (b.get(511) & 0xff) == 0xAA) {
            return known + "; it starts with a boot sector without a FAT BIOS parameter block: a partition "
                    + "table? Name a partition, as in disk.img:1";
        }
        return known;
    }

    private static String names(List<FileSystemType> types) {
        List<String> n = new ArrayList<>();
        for (FileSystemType t : types) {
            n.add(t.aliases().isEmpty() ? t.name() : t.name() + "/" + String.join("/", t.aliases()));
        }
        return n.isEmpty() ? "none on the class path" : String.join(", ", n);
    }
}
