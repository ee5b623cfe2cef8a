package io.jrump.cli;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.image.ImageFile;
import io.jrump.blk.image.ImageFormat;
import io.jrump.blk.image.Images;
import io.jrump.blk.image.VdiImage;
import io.jrump.blk.image.VhdImage;
import io.jrump.blk.image.VhdxImage;
import io.jrump.blk.image.VmdkImage;
import io.jrump.blk.image.Qcow2Check;
import io.jrump.blk.image.Qcow2Image;
import io.jrump.blk.image.Qcow2Snapshot;
import io.jrump.blk.image.Images;
import io.jrump.blk.part.Partition;
import io.jrump.blk.part.PartitionTable;
import io.jrump.blk.part.Partitions;
import io.jrump.fs.iso.IsoFileSystemType;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rump image}: inspect, create, convert and check disk images. */
@Command(name = "image", description = "Inspect, create, convert and check disk images (raw, qcow2, VHD, VDI, VHDX, VMDK).",
        subcommands = {ImageCommand.Info.class, ImageCommand.Create.class, ImageCommand.Convert.class,
            ImageCommand.Check.class, ImageCommand.Snapshot.class})
final class ImageCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private static ImageFile openFile(Hypercalls host, String path) throws ErrnoException {
        return new ImageFile(host.blockDevices().open(path, OpenMode.READ_ONLY), host.scheduler());
    }

    @Command(name = "info", description = "Format, sizes, backing file and partition table of an image.")
    static final class Info implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG", description = "Disk image.")
        String image;

        @Option(names = {"-f", "--format"}, defaultValue = "auto", description = "The image's format: auto (by its content, "
                + "the default), or raw to take any file as the disk it holds byte for byte, or a format name to insist on.")
        String format;

        @Option(names = "--sector-size", paramLabel = "BYTES", description = PartCommand.SECTOR_SIZE_HELP)
        Integer sectorSize;

        @Override
        public Integer call() throws ErrnoException {
            PrintWriter out = spec.commandLine().getOut();
            try (Hypercalls host = ImageHosts.create("rump-image")) {
                ImageFormat.Detection detected;
                long fileSize;
                try (ImageFile f = openFile(host, image)) {
                    detected = ImageFormat.identify(f);
                    fileSize = f.size();
                }
                if (format.equalsIgnoreCase("raw") && detected.format() != ImageFormat.RAW) {
                    out.printf("image: %s%nformat: raw (as given with --format; by its content it is %s: %s)%n", image,
                            detected.format().displayName(), detected.evidence());
                } else {
                    out.printf("image: %s%nformat: %s (%s)%n", image, detected.format().displayName(), detected.evidence());
                }
                try (BlockDevice d = DiskImages.open(host, image, format, true)) {
                    out.printf("virtual size: %s (%d bytes)%n", Sizes.human(d.size()), d.size());
                    out.printf("file size: %s (%d bytes)%n", Sizes.human(fileSize), fileSize);
                    if (d instanceof Qcow2Image q) {
                        out.printf("qcow2 version: %d%ncluster size: %d%n", q.version(), q.clusterSize());
                        if (q.backingFile() != null) {
                            out.printf("backing file: %s%n", q.backingFile());
                        }
                        out.printf("compression type: %s%n", q.compressionType());
                        if (q.extendedL2()) {
                            out.printf("extended L2 entries: yes (32 subclusters of %d bytes)%n", q.clusterSize() / 32);
                        }
                        if (q.dataFileName() != null) {
                            out.printf("data file: %s%n", q.dataFileName());
                        }
                        List<Qcow2Snapshot> snaps = q.snapshots();
                        if (!snaps.isEmpty()) {
                            out.printf("snapshots: %d (rump image snapshot list)%n", snaps.size());
                        }
                    } else if (d instanceof VhdImage v) {
                        out.printf("subformat: %s%n", v.subformat());
                        if (v.parentName() != null) {
                            out.printf("parent: %s%n", v.parentName());
                        }
                    } else if (d instanceof VdiImage v) {
                        out.printf("subformat: %s%n", v.subformat());
                    } else if (d instanceof VmdkImage v) {
                        out.printf("subformat: %s%n", v.subformat());
                    } else if (d instanceof VhdxImage v) {
                        out.printf("subformat: %s%nblock size: %d%nsector size: %d logical, %d physical%n", v.subformat(),
                                v.blockSize(), v.sectorSize(), v.physicalSectorSize());
                        if (v.parent() != null) {
                            out.printf("parent: %s%n", v.parent().name());
                        }
                    }
                    try {
                        PartitionTable t = PartitionTable.read(d, PartCommand.sectorSize(spec, sectorSize, d));
                        out.printf("partition table: %s, %d partitions%s%n", t.scheme().name().toLowerCase(Locale.ROOT),
                                t.partitions().size(), t.sectorSize() == d.sectorSize() ? ""
                                        : ", sectors of " + t.sectorSize() + " bytes");
                        for (Partition p : t.partitions()) {
                            out.printf("  %d: sectors %d-%d, %s, %s%s%n", p.number(), p.firstLba(), p.lastLba(),
                                    Sizes.human(p.sizeBytes(t.sectorSize())), p.typeName().isEmpty() ? p.type() : p.typeName(),
                                    p.name().isEmpty() ? "" : " '" + p.name() + "'");
                            if (p.isBad()) {
                                out.printf("     not opened: %s%n", p.problem());
                                continue;
                            }
                            if (p.isExtended()) {
                                out.printf("     extended partition: holds the logical partitions%n");
                                continue;
                            }
                            try (BlockDevice part = Partitions.open(d, t, p.number())) {
                                out.printf("     filesystem: %s%n", filesystem(part));
                            }
                        }
                        for (String w : t.warnings()) {
                            out.printf("  warning: %s%n", w);
                        }
                    } catch (ErrnoException e) {
                        out.printf("partition table: %s%n", e.errno() == Errno.ENODATA ? "none" : e.getMessage());
                    }
                    out.printf("filesystem: %s%n", filesystem(d)); // of the whole device
                    bootEntries(out, d);
                }
            }
            return 0;
        }
    }

    /** An ISO9660 device's El Torito boot entries, one a line; nothing for other devices. */
    private static void bootEntries(PrintWriter out, BlockDevice d) throws ErrnoException {
        try {
            List<String> entries = IsoFileSystemType.bootEntries(d);
            for (int i = 0; i < entries.size(); i++) {
                out.printf("  boot entry %d: %s%n", i + 1, entries.get(i));
            }
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EUCLEAN) {
                throw e;
            }
            out.printf("  boot catalog: %s%n", e.getMessage()); // the probe line already says it is damaged
        }
    }

    /** What a filesystem type finds on the device, or "none recognized". */
    static String filesystem(BlockDevice dev) throws ErrnoException {
        return FileSystemTypes.probe(dev).map(FileSystemTypes.Match::description).orElse("none recognized");
    }

    @Command(name = "create", description = "Create an empty image (raw files are sparse).")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG", description = "Image file to create; must not exist.")
        String image;

        @Option(names = "--size", required = true, description = "Virtual size, e.g. 2G.")
        String size;

        @Option(names = {"-O", "--format"}, defaultValue = "raw", description = FORMATS)
        String format;

        @Option(names = "-o", paramLabel = "KEY=VALUE", description = OPTIONS)
        Map<String, String> options = new LinkedHashMap<>();

        @Option(names = "--backing", description = "Backing file (qcow2), or parent (vhd, vhdx, vmdk: a differencing disk), relative to"
                + " the new image.")
        String backing;

        @Option(names = "--backing-format", defaultValue = "qcow2", description = "raw or qcow2 (default: ${DEFAULT-VALUE}).")
        String backingFormat;

        @Override
        public Integer call() throws ErrnoException {
            long bytes = parseSize(spec, size);
            String fmt = outputFormat(spec, format);
            Map<String, String> opts = new LinkedHashMap<>(options);
            if (backing != null) {
                opts.put("backing_file", backing);
                opts.put("backing_fmt", fmt.equals("qcow2") ? backingFormat : fmt);
            }
            long actual;
            try (Hypercalls host = ImageHosts.create("rump-image")) {
                Images.create(host, image, fmt, bytes, opts);
                try (BlockDevice d = DiskImages.open(host, image, fmt, true)) {
                    actual = d.size();
                }
            }
            spec.commandLine().getOut().printf("%s: %s, %s%s%n", image, fmt, Sizes.human(actual),
                    actual == bytes ? "" : " (" + actual + " bytes: " + Sizes.human(bytes) + " rounded up to the format's geometry)");
            return 0;
        }
    }

    @Command(name = "convert", description = "Copy an image into a new one of another (or the same) format.")
    static final class Convert implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "SRC", description = "Source image.")
        String source;

        @Parameters(index = "1", paramLabel = "DST", description = "New image; must not exist.")
        String target;

        @Mixin
        ProgressLine.Flag progress;

        @Option(names = {"-O", "--format"}, defaultValue = "raw", description = FORMATS)
        String format;

        @Option(names = "-o", paramLabel = "KEY=VALUE", description = OPTIONS)
        Map<String, String> options = new LinkedHashMap<>();

        @Option(names = {"-f", "--source-format"}, defaultValue = "auto", description = "The source's format: auto (by its "
                + "content, the default), raw (any file as the disk it holds), or a format name to insist on.")
        String sourceFormat;

        @Option(names = "--snapshot", paramLabel = "ID|NAME", description = "Copy this internal snapshot of a qcow2 SRC.")
        String snapshot;

        @Override
        public Integer call() throws ErrnoException {
            String fmt = outputFormat(spec, format);
            try (Hypercalls host = ImageHosts.create("rump-image");
                 BlockDevice src = snapshot == null ? DiskImages.open(host, source, sourceFormat, true)
                         : Images.openQcow2Snapshot(host, source, snapshot)) {
                ProgressLine line = progress.line(spec.commandLine().getErr(), "converting", null).total(src.size(), 0);
                Images.convert(host, src, target, fmt, options, line::setBytes);
                line.done();
            }
            return 0;
        }
    }

    @Command(name = "check", description = "Check an image's metadata like qemu-img check: exit 0 clean, 2 corrupt, 3 leaks only"
            + " (qcow2 fully; VHD and VDI headers and tables).")
    static final class Check implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG", description = "Disk image.")
        String image;

        @Mixin
        ProgressLine.Flag progress;

        @Override
        public Integer call() throws ErrnoException {
            PrintWriter out = spec.commandLine().getOut();
            try (Hypercalls host = ImageHosts.create("rump-image"); ImageFile f = openFile(host, image)) {
                ImageFormat format = ImageFormat.detect(f);
                if (format == ImageFormat.RAW) {
                    out.printf("%s: raw image: no metadata to check%n", image);
                    return 0;
                }
                if (format != ImageFormat.QCOW2) {
                    return checkByOpening(host, image, format, out);
                }
                ProgressLine line = progress.line(spec.commandLine().getErr(), "checking", null);
                Qcow2Check.Result r = Qcow2Check.check(f, line::setUnits);
                line.done();
                r.messages().forEach(out::println);
                if (!r.note().isEmpty()) {
                    out.println("note: " + r.note());
                }
                if (r.isClean()) {
                    out.printf("No errors were found on the image (%d clusters in use).%n", r.allocatedClusters());
                    return 0;
                }
                out.printf("%d errors and %d leaked clusters were found on the image.%n", r.corruptions(), r.leaks());
                return r.corruptions() > 0 ? 2 : 3;
            }
        }
    }

    @Command(name = "snapshot", description = "Internal snapshots of a qcow2 image (read-only).",
            subcommands = {SnapshotList.class, SnapshotShow.class})
    static final class Snapshot implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(spec.commandLine().getOut());
        }
    }

    private static final DateTimeFormatter SNAPSHOT_DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
            .withZone(ZoneOffset.UTC);

    /** The guest clock as qemu-img shows it: hours:minutes:seconds.milliseconds. */
    static String vmClock(long nanos) {
        long ms = nanos / 1_000_000;
        return String.format(Locale.ROOT, "%02d:%02d:%02d.%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    }

    private static Qcow2Image openQcow2(Hypercalls host, String image) throws ErrnoException {
        BlockDevice d = DiskImages.open(host, image, true);
        if (d instanceof Qcow2Image q) {
            return q;
        }
        d.close();
        throw new ErrnoException(Errno.EINVAL, image + ": only qcow2 images have internal snapshots");
    }

    @Command(name = "list", description = "List the internal snapshots, as qemu-img snapshot -l (dates in UTC).")
    static final class SnapshotList implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMG", description = "qcow2 image.")
        String image;

        @Override
        public Integer call() throws ErrnoException {
            PrintWriter out = spec.commandLine().getOut();
            try (Hypercalls host = ImageHosts.create("rump-image"); Qcow2Image q = openQcow2(host, image)) {
                List<Qcow2Snapshot> all = q.snapshots();
                if (all.isEmpty()) {
                    out.printf("%s: no snapshots%n", image);
                    return 0;
                }
                out.printf("%-8s  %-16s  %10s  %10s  %-19s  %s%n", "ID", "TAG", "DISK SIZE", "VM SIZE", "DATE (UTC)", "VM CLOCK");
                for (Qcow2Snapshot s : all) {
                    out.printf("%-8s  %-16s  %10s  %10s  %-19s  %s%n", s.id(), s.name(), Sizes.human(s.diskSize()),
                            Sizes.human(s.vmStateSize()), SNAPSHOT_DATE.format(Instant.ofEpochSecond(s.dateSeconds())),
                            vmClock(s.vmClockNanos()));
                }
            }
            return 0;
        }
    }

    @Command(name = "show", description = "One internal snapshot in detail, and what its disk holds.")
    static final class SnapshotShow implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "IMG", description = "qcow2 image.")
        String image;

        @Parameters(index = "1", paramLabel = "ID|NAME", description = "Snapshot ID or name (IDs match first).")
        String which;

        @Override
        public Integer call() throws ErrnoException {
            PrintWriter out = spec.commandLine().getOut();
            try (Hypercalls host = ImageHosts.create("rump-image");
                    Qcow2Image d = Images.openQcow2Snapshot(host, image, which)) {
                Qcow2Snapshot s = d.snapshot();
                out.printf("id: %s%nname: %s%ndate: %s UTC%nvm clock: %s%nvm state size: %d bytes%n", s.id(), s.name(),
                        SNAPSHOT_DATE.format(Instant.ofEpochSecond(s.dateSeconds())), vmClock(s.vmClockNanos()),
                        s.vmStateSize());
                out.printf("disk size: %s (%d bytes)%nL1 table: %d entries at 0x%x%n", Sizes.human(s.diskSize()),
                        s.diskSize(), s.l1Size(), s.l1Offset());
                try {
                    PartitionTable t = PartitionTable.read(d);
                    out.printf("partition table: %s, %d partitions%n", t.scheme().name().toLowerCase(Locale.ROOT),
                            t.partitions().size());
                } catch (ErrnoException e) {
                    out.printf("partition table: %s%n", e.errno() == Errno.ENODATA ? "none" : e.getMessage());
                }
                out.printf("filesystem: %s%n", filesystem(d));
            }
            return 0;
        }
    }

    /** The format a new image named {@code path} is made in by its extension: raw unless it names another. */
    static String formatByExtension(String path) {
        String lower = path.toLowerCase(Locale.ROOT);
        for (String ext : new String[] {"qcow2", "vhdx", "vhd", "vdi", "vmdk"}) {
            if (lower.endsWith("." + ext)) {
                return ext;
            }
        }
        return "raw";
    }

    /** The formats {@code rump image create|convert} write. */
    static final List<String> WRITTEN = List.of("raw", "qcow2", "vhd", "vpc", "vdi", "vhdx", "vmdk");

    static String outputFormat(CommandSpec spec, String text) {
        String fmt = text.toLowerCase(Locale.ROOT);
        if (!WRITTEN.contains(fmt)) {
            throw new ParameterException(spec.commandLine(), "--format must be one of " + String.join(", ", WRITTEN)
                    + ", not '" + text + "'");
        }
        return fmt;
    }

    static final String FORMATS = "Format of the new image: raw (the default), qcow2, vhd (or vpc), vdi, vhdx, vmdk.";
    static final String OPTIONS = "Format option, as qemu-img's -o: subformat=dynamic|fixed (vhd, vhdx), subformat=dynamic|static"
            + " (vdi), subformat=monolithicSparse|monolithicFlat|twoGbMaxExtentSparse|twoGbMaxExtentFlat|streamOptimized (vmdk;"
            + " streamOptimized by convert only), block_size=, log_size=, block_state_zero=on|off (vhdx), backing_file=,"
            + " backing_fmt= (qcow2; backing_file= for vhd, vhdx and vmdk makes a differencing or child disk). Repeatable.";

    /**
     * A format whose structures are all checked when it is opened (VHD, VDI: headers, checksums,
     * every table entry against the file): the check is that open.
     */
    private static int checkByOpening(Hypercalls host, String image, ImageFormat format, PrintWriter out) {
        try (BlockDevice d = DiskImages.open(host, image, "auto", true)) {
            out.printf("No errors were found on the image (%s: headers and every table entry checked).%n",
                    format.displayName());
            return 0;
        } catch (ErrnoException e) {
            out.println(e.getMessage());
            if (e.errno() == Errno.EUCLEAN) {
                out.println("1 errors and 0 leaked clusters were found on the image.");
                return 2;
            }
            return 1;
        }
    }

    static long parseSize(CommandSpec spec, String text) {
        try {
            return Sizes.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
