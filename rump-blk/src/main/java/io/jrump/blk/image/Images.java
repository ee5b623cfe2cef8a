package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.ForwardingBlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.Hypercalls;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.TreeMap;

/**
 * Opens a disk image of any supported format as a {@link BlockDevice}: raw images as they are,
 * qcow2 through {@link Qcow2Image} with its backing chain opened read-only, VMDK through
 * {@link VmdkImage} with its extent files, VHD, VDI and VHDX through their classes; names resolved
 * against the directory of the image that names them, as qemu does.
 */
public final class Images {
    private Images() {
    }

    public static BlockDevice open(Hypercalls host, String path, boolean readOnly) throws ErrnoException {
        return open(host, path, null, readOnly, 0);
    }

    /**
     * Opens an image as format {@code format} ({@code null} or "auto": by its content). "raw"
     * takes any file as the disk it holds byte for byte, whatever signature it carries, as
     * {@code qemu-img -f raw} does; another name must match what the content says
     * ({@code EINVAL} otherwise), so that a wrong guess is never read.
     */
    public static BlockDevice open(Hypercalls host, String path, String format, boolean readOnly) throws ErrnoException {
        if (format == null || format.equalsIgnoreCase("auto")) {
            return open(host, path, null, readOnly, 0);
        }
        String name = canonicalName(format);
        if (name.equals("raw")) {
            return HostDisk.open(host, path, readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE);
        }
        return open(host, path, name, readOnly, 0);
    }

    /** A format name as the user may spell it (qemu's "vpc" for VHD), lower case. */
    static String canonicalName(String format) throws ErrnoException {
        String f = format.toLowerCase(java.util.Locale.ROOT);
        if (f.equals("vpc")) {
            return "vhd";
        }
        for (ImageFormat known : ImageFormat.values()) {
            if (known.displayName().equals(f)) {
                return f;
            }
        }
        throw new ErrnoException(Errno.EINVAL, "unknown image format '" + format + "' (known: raw, qcow2, vhd, vdi, vmdk, vhdx,"
                + " and, detected only, qcow, qed, parallels, dmg, luks, cloop, bochs)");
    }

    private static BlockDevice open(Hypercalls host, String path, String expectedFormat, boolean readOnly, int depth)
            throws ErrnoException {
        HostBlockDevice dev = host.blockDevices().open(path, readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE);
        ImageFile file = new ImageFile(dev, host.scheduler());
        ImageFormat.Detection detected;
        try {
            detected = ImageFormat.identify(file);
        } catch (ErrnoException e) {
            file.close();
            throw e;
        }
        ImageFormat format = detected.format();
        if (expectedFormat != null && !expectedFormat.equalsIgnoreCase(format.displayName())) {
            file.close();
            throw new ErrnoException(Errno.EINVAL, path + ": " + (depth == 0 ? "the format given is " : "its child names it as ")
                    + expectedFormat + " but the file is " + format.displayName() + " (" + detected.evidence() + ")");
        }
        switch (format) {
            case RAW -> {
                file.close();
                return HostDisk.open(host, path, readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE);
            }
            case QCOW2 -> {
                try {
                    return Qcow2Image.open(file, readOnly, host.clock(),
                            (name, fmt, d) -> open(host, resolve(path, name), fmt, true, d),
                            (name, ro) -> new ImageFile(host.blockDevices().open(resolve(path, name),
                                    ro ? OpenMode.READ_ONLY : OpenMode.READ_WRITE), host.scheduler()), depth);
                } catch (ErrnoException | RuntimeException e) {
                    file.close();
                    throw e;
                }
            }
            case VHD, VDI -> {
                try {
                    return format == ImageFormat.VHD
                            ? VhdImage.open(file, readOnly, host.clock(),
                                    (name, fmt, d) -> open(host, resolve(path, name), fmt, true, d), depth)
                            : VdiImage.open(file, readOnly, host.clock());
                } catch (ErrnoException | RuntimeException e) {
                    file.close();
                    throw e;
                }
            }
            case VHDX -> {
                try {
                    return VhdxImage.open(file, readOnly, host.clock(), host.random(),
                            (name, fmt, d) -> open(host, resolve(path, name), fmt, true, d), depth);
                } catch (ErrnoException | RuntimeException e) {
                    file.close();
                    throw e;
                }
            }
            case VMDK -> {
                try {
                    return VmdkImage.open(file, path, readOnly, host.clock(), host.random(), new VmdkImage.ExtentFiles() {
                        @Override
                        public String resolve(String name) {
                            return Images.resolve(path, name);
                        }

                        @Override
                        public ImageFile open(String extent, boolean ro) throws ErrnoException {
                            return new ImageFile(host.blockDevices().open(extent, ro ? OpenMode.READ_ONLY
                                    : OpenMode.READ_WRITE), host.scheduler());
                        }

                        @Override
                        public BlockDevice openParent(String parent, int d) throws ErrnoException {
                            return Images.open(host, parent, null, true, d);
                        }
                    }, depth);
                } catch (ErrnoException | RuntimeException e) {
                    file.close();
                    throw e;
                }
            }
            default -> {
                file.close();
                // Never read as raw: the container's bytes are not the disk's.
                throw new ErrnoException(Errno.EOPNOTSUPP, path + ": " + format.title() + " images are not supported"
                        + " (jrump reads raw, qcow2, VHD, VHDX, VDI and VMDK images); found " + detected.evidence());
            }
        }
    }

    /**
     * Creates an empty image of {@code size} bytes in a new file, with qemu-img's option names:
     * raw (sparse); qcow2 ({@code backing_file}, {@code backing_fmt}); vhd/vpc
     * ({@code subformat=dynamic|fixed}, or {@code backing_file} for a differencing disk of its
     * parent's size); vdi ({@code subformat=dynamic|static}); vhdx ({@code subformat=dynamic|fixed},
     * {@code block_size}, {@code log_size}, {@code block_state_zero}, or {@code backing_file} for a
     * differencing disk of its parent's size);
     * vmdk ({@code subformat=monolithicSparse|monolithicFlat|twoGbMaxExtentSparse|twoGbMaxExtentFlat},
     * or {@code backing_file} for a monolithicSparse child of a VMDK parent, of its size;
     * streamOptimized is written by {@link VmdkImage#writeStreamOptimized}). An option the
     * format does not take is {@code EINVAL}, naming it.
     */
    public static void create(Hypercalls host, String path, String format, long size, Map<String, String> options)
            throws ErrnoException {
        String f = canonicalName(format);
        Map<String, String> rest = new TreeMap<>(options);
        switch (f) {
            case "raw" -> {
                refuseOthers(f, rest);
                host.blockDevices().create(path, size).close();
            }
            case "qcow2" -> {
                String backing = rest.remove("backing_file");
                String backingFormat = rest.remove("backing_fmt");
                refuseOthers(f, rest);
                try (ImageFile file = newFile(host, path)) {
                    Qcow2Image.create(file, size, backing, backing == null ? null
                            : backingFormat == null ? "qcow2" : canonicalName(backingFormat));
                }
            }
            case "vhd" -> {
                String parent = rest.remove("backing_file");
                String parentFormat = rest.remove("backing_fmt");
                if (parent != null) {
                    if (parentFormat != null && !canonicalName(parentFormat).equals("vhd")) {
                        throw new ErrnoException(Errno.EINVAL, path + ": a differencing VHD's parent is a VHD, not "
                                + parentFormat);
                    }
                    refuseOthers(f, rest);
                    createDifferencingVhd(host, path, parent, size);
                    return;
                }
                String sub = subformat(rest, "dynamic", "dynamic", "fixed");
                refuseOthers(f, rest);
                try (ImageFile file = newFile(host, path)) {
                    VhdImage.create(file, size, sub.equals("fixed"), randomId(host), host.clock().wallNanos());
                }
            }
            case "vdi" -> {
                String sub = subformat(rest, "dynamic", "dynamic", "static");
                refuseOthers(f, rest);
                try (ImageFile file = newFile(host, path)) {
                    VdiImage.create(file, size, sub.equals("static"), randomId(host));
                }
            }
            case "vmdk" -> {
                String parent = rest.remove("backing_file");
                String parentFormat = rest.remove("backing_fmt");
                String sub = subformat(rest, "monolithicSparse", "monolithicSparse", "monolithicFlat",
                        "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "streamOptimized");
                refuseOthers(f, rest);
                if (sub.equals("monolithicFlat") || sub.startsWith("twoGb")) {
                    if (parent != null) {
                        throw new ErrnoException(Errno.EINVAL, path + ": jrump makes VMDK children monolithicSparse,"
                                + " not " + sub);
                    }
                    try (ImageFile file = newFile(host, path)) {
                        VmdkImage.createWithExtents(file, size, sub, (name, bytes) -> new ImageFile(
                                host.blockDevices().create(resolve(path, name), bytes), host.scheduler()), host.random());
                    }
                    return;
                }
                VmdkImage.refuseSubformat(path, sub);
                if (parent != null) {
                    if (parentFormat != null && !canonicalName(parentFormat).equals("vmdk")) {
                        throw new ErrnoException(Errno.EINVAL, path + ": a VMDK child's parent is a VMDK, not "
                                + parentFormat);
                    }
                    createVmdkChild(host, path, parent, size);
                    return;
                }
                try (VmdkImage img = VmdkImage.create(newFile(host, path), size, sub, host.clock(), host.random())) {
                    img.flush();
                }
            }
            case "vhdx" -> {
                String parent = rest.remove("backing_file");
                String parentFormat = rest.remove("backing_fmt");
                if (parent != null) {
                    if (parentFormat != null && !canonicalName(parentFormat).equals("vhdx")) {
                        throw new ErrnoException(Errno.EINVAL, path + ": a differencing VHDX's parent is a VHDX, not "
                                + parentFormat);
                    }
                    refuseOthers(f, rest);
                    createDifferencingVhdx(host, path, parent, size);
                    return;
                }
                String sub = subformat(rest, "dynamic", "dynamic", "fixed");
                long blockSize = bytes(rest.remove("block_size"), VhdxImage.DEFAULT_BLOCK_SIZE);
                long logSize = bytes(rest.remove("log_size"), 1 << 20);
                String zero = rest.remove("block_state_zero");
                refuseOthers(f, rest);
                if (zero != null && !zero.equals("on") && !zero.equals("off")) {
                    throw new ErrnoException(Errno.EINVAL, "block_state_zero '" + zero + "' (on or off)");
                }
                if (blockSize > Integer.MAX_VALUE) {
                    throw new ErrnoException(Errno.EINVAL, "block_size " + blockSize + " (1 MiB to 256 MiB)");
                }
                try (ImageFile file = newFile(host, path)) {
                    VhdxImage.create(file, size, (int) blockSize, logSize, sub.equals("fixed"), !"off".equals(zero), 512,
                            host.random());
                }
            }
            default -> throw new ErrnoException(Errno.EOPNOTSUPP, "creating " + f + " images is not supported"
                    + " (jrump creates raw, qcow2, vhd, vhdx, vdi and vmdk images)");
        }
    }

    /** A size as qemu-img options spell it: bytes, or a number with K, M, G (powers of 1024). */
    private static long bytes(String value, long fallback) throws ErrnoException {
        if (value == null) {
            return fallback;
        }
        String v = value.trim().toUpperCase(java.util.Locale.ROOT);
        int shift = v.endsWith("K") ? 10 : v.endsWith("M") ? 20 : v.endsWith("G") ? 30 : 0;
        try {
            long n = Long.parseLong(shift == 0 ? v : v.substring(0, v.length() - 1));
            if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new ErrnoException(Errno.EINVAL, "size '" + value + "' (bytes, or a number with K, M or G)");
        }
    }

    /**
     * Writes {@code src}'s contents into a new image {@code path} of {@code format}, as
     * {@code qemu-img convert} does: {@link #create} with {@code options}, then {@link ImageCopy}
     * (all-zero steps left unwritten); a VMDK of {@code subformat=streamOptimized}, which can only
     * be written front to back, by {@link VmdkImage#writeStreamOptimized}. {@code progress} hears
     * how many of the source's bytes are done.
     */
    public static void convert(Hypercalls host, BlockDevice src, String path, String format, Map<String, String> options,
            LongConsumer progress) throws ErrnoException {
        String f = canonicalName(format);
        if (f.equals("vmdk") && "streamOptimized".equalsIgnoreCase(options.get("subformat"))) {
            if (options.size() > 1) {
                Map<String, String> rest = new TreeMap<>(options);
                rest.remove("subformat");
                refuseOthers("streamOptimized vmdk", rest);
            }
            BlockDevice counted = new ForwardingBlockDevice(src) {
                @Override
                public void read(long offset, ByteBuffer dst) throws ErrnoException {
                    super.read(offset, dst);
                    progress.accept(offset + dst.remaining());
                }
            };
            try (ImageFile out = newFile(host, path)) {
                VmdkImage.writeStreamOptimized(out, counted, host.random());
                out.flush();
            }
            return;
        }
        create(host, path, f, src.size(), options);
        try (BlockDevice dst = open(host, path, f, false)) {
            ImageCopy.copy(src, dst, progress);
        }
    }

    /** A differencing VHD over {@code parent} (relative to the new file's directory, as qemu resolves backing files). */
    private static void createDifferencingVhd(Hypercalls host, String path, String parent, long size) throws ErrnoException {
        String parentPath = resolve(path, parent);
        try (BlockDevice p = open(host, parentPath, "vhd", true, 1)) {
            if (size >= 0 && size != p.size()) {
                throw new ErrnoException(Errno.EINVAL, path + ": a differencing VHD has its parent's size (" + p.size()
                        + " bytes), not " + size);
            }
            try (ImageFile file = newFile(host, path)) {
                VhdImage.createDifferencing(file, (VhdImage) p, parent, Path.of(parentPath).toAbsolutePath().toString(),
                        randomId(host), host.clock().wallNanos());
            }
        }
    }

    private static void createDifferencingVhdx(Hypercalls host, String path, String parent, long size)
            throws ErrnoException {
        String parentPath = resolve(path, parent);
        try (BlockDevice p = open(host, parentPath, "vhdx", true, 1)) {
            if (size >= 0 && size != p.size()) {
                throw new ErrnoException(Errno.EINVAL, path + ": a differencing VHDX has its parent's size (" + p.size()
                        + " bytes), not " + size);
            }
            try (ImageFile file = newFile(host, path)) {
                VhdxImage.createDifferencing(file, (VhdxImage) p, parent, Path.of(parentPath).toAbsolutePath().toString(),
                        host.random());
            }
        }
    }

    /** A monolithicSparse child of the VMDK {@code parent} (relative to the new file's directory, as qemu resolves it). */
    private static void createVmdkChild(Hypercalls host, String path, String parent, long size) throws ErrnoException {
        try (BlockDevice p = open(host, resolve(path, parent), "vmdk", true, 1)) {
            if (size >= 0 && size != p.size()) {
                throw new ErrnoException(Errno.EINVAL, path + ": a VMDK child has its parent's size (" + p.size()
                        + " bytes), not " + size);
            }
            try (ImageFile file = newFile(host, path)) {
                VmdkImage.createChild(file, (VmdkImage) p, parent, host.random());
            }
        }
    }

    private static ImageFile newFile(Hypercalls host, String path) throws ErrnoException {
        return new ImageFile(host.blockDevices().create(path, 0), host.scheduler());
    }

    private static byte[] randomId(Hypercalls host) {
        byte[] id = new byte[16];
        host.random().nextBytes(id);
        return id;
    }

    private static String subformat(Map<String, String> options, String fallback, String... allowed) throws ErrnoException {
        String sub = options.remove("subformat");
        if (sub == null) {
            return fallback;
        }
        for (String a : allowed) {
            if (a.equalsIgnoreCase(sub)) {
                return a;
            }
        }
        throw new ErrnoException(Errno.EINVAL, "subformat '" + sub + "' (this format has " + String.join(", ", allowed) + ")");
    }

    private static void refuseOthers(String format, Map<String, String> rest) throws ErrnoException {
        if (!rest.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, format + " images take no option " + String.join(", ", rest.keySet()));
        }
    }

    /** A backing file name relative to the directory of the image naming it, as qemu resolves it. */
    static String resolve(String image, String backing) {
        Path b = Path.of(backing);
        if (b.isAbsolute()) {
            return backing;
        }
        Path dir = Path.of(image).toAbsolutePath().getParent();
        return dir == null ? backing : dir.resolve(b).normalize().toString();
    }

    /**
     * Opens an internal snapshot of a qcow2 image, by ID or name, read-only: {@code ENOENT} if it
     * has none by that ID or name, {@code EINVAL} if the image is not qcow2.
     */
    public static Qcow2Image openQcow2Snapshot(Hypercalls host, String path, String idOrName) throws ErrnoException {
        ImageFile file = new ImageFile(host.blockDevices().open(path, OpenMode.READ_ONLY), host.scheduler());
        try {
            ImageFormat.Detection detected = ImageFormat.identify(file);
            if (detected.format() != ImageFormat.QCOW2) {
                throw new ErrnoException(Errno.EINVAL, path + ": only qcow2 images have internal snapshots; this is "
                        + detected.format().displayName());
            }
            return Qcow2Image.openSnapshot(file, idOrName, host.clock(),
                    (name, fmt, d) -> open(host, resolve(path, name), fmt, true, d),
                    (name, ro) -> new ImageFile(host.blockDevices().open(resolve(path, name), OpenMode.READ_ONLY),
                            host.scheduler()), 0);
        } catch (ErrnoException | RuntimeException e) {
            file.close();
            throw e;
        }
    }
}
