package io.jrump.cli;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.part.Partition;
import io.jrump.blk.part.PartitionEditor;
import io.jrump.blk.part.PartitionTable.Scheme;
import io.jrump.blk.part.PartitionTable;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rump part}: list, create and edit MBR and GPT partition tables in disk images. */
@Command(name = "part", description = "List, create and edit MBR/GPT partition tables in disk images.",
        subcommands = {PartCommand.List.class, PartCommand.Create.class, PartCommand.Add.class,
            PartCommand.Delete.class})
final class PartCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Runs {@code body} on a disk opened on a fresh JVM host, closing both. */
    interface DiskWork {
        void run(Hypercalls host, BlockDevice disk) throws ErrnoException;
    }

    static void withDisk(String image, boolean readOnly, DiskWork body) throws ErrnoException {
        try (Hypercalls host = ImageHosts.create("rump-part"); BlockDevice disk = DiskImages.open(host, image, readOnly)) {
            try {
                body.run(host, disk);
            } catch (ErrnoException e) {
                throw noTable(e, image, readOnly, disk);
            }
        }
    }

    /** A disk without a table (ENODATA): what it holds instead and, for an edit of a blank disk, how to make one. */
    private static ErrnoException noTable(ErrnoException e, String image, boolean readOnly, BlockDevice disk) {
        if (e.errno() != Errno.ENODATA) {
            return e;
        }
        try {
            var found = FileSystemTypes.probe(disk);
            String hint = readOnly || found.isPresent() ? "" : "; 'rump part create " + image + " --table gpt' makes one";
            return new ErrnoException(Errno.ENODATA, e.detail() + "; " + FileSystemTypes.contentsWithoutTable(disk, found) + hint,
                    e);
        } catch (ErrnoException probing) {
            return e;
        }
    }

    /** The description of {@code --sector-size}, the same on every command that reads a table. */
    static final String SECTOR_SIZE_HELP = "The table's sector size, 512 or 4096 (default: 4096 if a GPT header is"
            + " found at byte 4096, as on a 4Kn disk's image; else the device's, 512).";

    /** The sector unit to read the table in: {@code given} (512 or 4096), or else the one its GPT shows. */
    static int sectorSize(CommandSpec spec, Integer given, BlockDevice disk) throws ErrnoException {
        if (given == null) {
            return PartitionTable.detectSectorSize(disk);
        }
        if (given != 512 && given != 4096) {
            throw new ParameterException(spec.commandLine(), "--sector-size must be 512 or 4096, not " + given);
        }
        return given;
    }

    /** What is wrong with a partition its table marks bad, or nothing. */
    static String problemNote(Partition p) {
        return p.isBad() ? "  BAD: " + p.problem() : "";
    }

    @Command(name = "list", description = "List the partitions of an image.")
    static final class List implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG", description = "Disk image.")
        String image;

        @Option(names = "--sector-size", paramLabel = "BYTES", description = SECTOR_SIZE_HELP)
        Integer sectorSize;

        @Override
        public Integer call() throws ErrnoException {
            PrintWriter out = spec.commandLine().getOut();
            withDisk(image, true, (host, disk) -> {
                PartitionTable t = PartitionTable.read(disk, sectorSize(spec, sectorSize, disk));
                for (String w : t.warnings()) {
                    spec.commandLine().getErr().println("rump: warning: " + w);
                }
                int ss = t.sectorSize();
                out.printf("%s: %s, %s sectors of %d bytes, disk id %s%n", image, t.scheme().name().toLowerCase(Locale.ROOT),
                        disk.size() / ss, ss, t.diskId());
                boolean gpt = t.scheme() == Scheme.GPT;
                out.printf("%-4s %12s %12s %8s  %-12s %s%n", "#", "start", "end", "size", "type",
                        gpt ? "name / type GUID / partition GUID" : "");
                for (Partition p : t.partitions()) {
                    String type = p.typeName().isEmpty() ? p.type() : p.typeName();
                    out.printf("%-4d %12d %12d %8s  %-12s %s%s%n", p.number(), p.firstLba(), p.lastLba(),
                            Sizes.human(p.sizeBytes(ss)), type,
                            gpt ? "'" + p.name() + "' " + p.type() + " " + p.uuid()
                                    : (p.attributes() & 0x80) != 0 ? "bootable" : "", problemNote(p));
                }
                if (t.partitions().isEmpty()) {
                    // A FAT boot sector carries 0x55AA too: sfdisk lists such a disk as an empty dos table.
                    var fs = FileSystemTypes.probe(disk);
                    out.println("(no partitions" + fs.map(m -> "; the whole disk holds a filesystem (" + m.description() + ")")
                            .orElse("") + ")");
                }
            });
            return 0;
        }
    }

    @Command(name = "create", description = "Write a new, empty partition table (destroys the old one).")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG", description = "Disk image.")
        String image;

        @Option(names = "--table", required = true, description = "gpt or mbr.")
        String table;

        @Option(names = "--sector-size", paramLabel = "BYTES",
                description = "The table's sector size, 512 or 4096 (for a 4Kn disk; default: the device's, 512).")
        Integer sectorSize;

        @Override
        public Integer call() throws ErrnoException {
            Scheme scheme = switch (table.toLowerCase(Locale.ROOT)) {
                case "gpt" -> Scheme.GPT;
                case "mbr", "dos", "msdos" -> Scheme.MBR;
                default -> throw new ParameterException(spec.commandLine(), "--table must be gpt or mbr, not '" + table + "'");
            };
            withDisk(image, false, (host, disk) -> {
                int ss = sectorSize == null ? disk.sectorSize() : sectorSize(spec, sectorSize, disk);
                PartitionEditor ed = PartitionEditor.create(disk, scheme, ss, host.random());
                ed.write();
                spec.commandLine().getOut().printf("%s: new %s table, disk id %s%n", image, table.toLowerCase(Locale.ROOT),
                        ed.table().diskId());
            });
            return 0;
        }
    }

    @Command(name = "add", description = "Add a partition (1 MiB-aligned, in the first gap that fits).")
    static final class Add implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG", description = "Disk image.")
        String image;

        @Option(names = "--size", required = true, description = "Size, e.g. 512M, 2G; 0 for the rest of the first gap.")
        String size;

        @Option(names = "--type", defaultValue = "linux",
                description = "linux, efi, fat32, swap, lvm, an MBR hex code or a GPT type GUID (default: ${DEFAULT-VALUE}).")
        String type;

        @Option(names = "--name", defaultValue = "", description = "GPT partition name.")
        String name;

        @Option(names = "--start", defaultValue = "-1", description = "First sector (default: the first aligned gap).")
        long start;

        @Option(names = "--sector-size", paramLabel = "BYTES", description = SECTOR_SIZE_HELP)
        Integer sectorSize;

        @Override
        public Integer call() throws ErrnoException {
            long bytes = ImageCommand.parseSize(spec, size);
            withDisk(image, false, (host, disk) -> {
                PartitionEditor ed = PartitionEditor.open(disk, sectorSize(spec, sectorSize, disk), host.random());
                Partition p = ed.add(bytes, type, name, start);
                ed.write();
                spec.commandLine().getOut().printf("%s: partition %d, sectors %d-%d (%s)%n", image, p.number(),
                        p.firstLba(), p.lastLba(), Sizes.human(p.sizeBytes(ed.sectorSize())));
            });
            return 0;
        }
    }

    @Command(name = "delete", description = "Delete a partition.")
    static final class Delete implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "IMG", description = "Disk image.")
        String image;

        @Parameters(index = "1", paramLabel = "N", description = "Partition number.")
        int number;

        @Option(names = "--sector-size", paramLabel = "BYTES", description = SECTOR_SIZE_HELP)
        Integer sectorSize;

        @Override
        public Integer call() throws ErrnoException {
            if (number < 1) {
                throw new ErrnoException(Errno.EINVAL, "partition numbers start at 1");
            }
            withDisk(image, false, (host, disk) -> {
                PartitionEditor ed = PartitionEditor.open(disk, sectorSize(spec, sectorSize, disk), host.random());
                ed.delete(number);
                ed.write();
                spec.commandLine().getOut().printf("%s: partition %d deleted%n", image, number);
            });
            return 0;
        }
    }
}
