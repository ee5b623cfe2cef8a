package io.jrump.fs.iso;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * ISO9660 (ECMA-119) with Rock Ridge and Joliet, read-only, as a {@link FileSystemType}:
 * recognized by "CD001" at block 16. A read-write mount is not refused: the result says it is
 * read-only ({@link FileSystemOps#isReadOnly()}), so the VFS mounts it read-only and every change
 * is {@code EROFS} — the way to read an image without asking for {@code ro} first, as the nio
 * provider and {@code rump fs} open images read-write by default.
 */
public final class IsoFileSystemType implements FileSystemType {
    @Override
    public String name() {
        return "iso9660";
    }

    @Override
    public List<String> aliases() {
        return List.of("iso", "cd9660");
    }

    @Override
    public Optional<String> probe(BlockDevice dev) throws ErrnoException {
        IsoDevice iso = new IsoDevice(dev);
        if (!VolumeDescriptors.present(iso)) {
            return Optional.empty();
        }
        StringBuilder d = new StringBuilder("iso9660");
        VolumeDescriptors v;
        try {
            v = VolumeDescriptors.read(iso);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EUCLEAN) {
                throw e;
            }
            return Optional.of(d.append(", damaged: ").append(e.detail()).toString());
        }
        if (!v.volumeId.isEmpty()) {
            d.append(", volume '").append(v.volumeId).append('\'');
        }
        d.append(", ").append(v.volumeBlocks).append(" blocks of ").append(v.logicalBlockSize).append(" bytes");
        try {
            if (hasRockRidge(iso, v)) {
                d.append(", Rock Ridge");
            }
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EUCLEAN) {
                throw e;
            }
            d.append(", root directory damaged (").append(e.detail()).append(')');
        }
        if (v.jolietRoot != null) {
            d.append(", Joliet");
        }
        if (v.bootCatalog >= 0) {
            try {
                d.append(", ").append(ElTorito.read(iso, v.bootCatalog).summary());
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EUCLEAN) {
                    throw e;
                }
                d.append(", El Torito boot catalog damaged (").append(e.detail()).append(')');
            }
        }
        return Optional.of(d.toString());
    }

    private static boolean hasRockRidge(IsoDevice iso, VolumeDescriptors v) throws ErrnoException {
        DirRecord root = VolumeDescriptors.root(v.primaryRoot, v.primaryBlock);
        byte[] b = iso.block(root.dataBlock(), "root directory");
        if ((b[0] & 0xff) == 0) {
            return false;
        }
        return RockRidge.parse(iso, DirRecord.parse(b, 0, root.dataBlock()), 0).sp;
    }

    /**
     * The El Torito boot entries of an ISO9660 device, one line each ("x86 BIOS, bootable, no
     * emulation, load segment 0x7c0 (default), 4 sectors of 512 bytes at block 35"); empty if the
     * device holds no ISO9660 volume or no boot catalog.
     *
     * @throws ErrnoException EUCLEAN for a damaged catalog, or what the device reports
     */
    public static List<String> bootEntries(BlockDevice dev) throws ErrnoException {
        IsoDevice iso = new IsoDevice(dev);
        List<String> out = new ArrayList<>();
        if (!VolumeDescriptors.present(iso)) {
            return out;
        }
        VolumeDescriptors v = VolumeDescriptors.read(iso);
        if (v.bootCatalog >= 0) {
            for (ElTorito.Entry e : ElTorito.read(iso, v.bootCatalog).entries()) {
                out.add(e.describe());
            }
        }
        return out;
    }

    @Override
    public FileSystemOps mount(BlockDevice dev, Options options) throws ErrnoException {
        try {
            IsoMountOptions mo = IsoMountOptions.parse(options.options());
            return IsoVfs.mount(dev, mo, options.owned());
        } catch (ErrnoException | RuntimeException | Error e) {
            for (AutoCloseable c : options.owned()) {
                try {
                    c.close();
                } catch (Exception x) {
                    e.addSuppressed(x);
                }
            }
            throw e;
        }
    }
}
