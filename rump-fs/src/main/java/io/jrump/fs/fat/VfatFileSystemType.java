package io.jrump.fs.fat;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;

/**
 * FAT12, FAT16 and FAT32 with VFAT long names as a {@link FileSystemType} ({@code vfat}, as
 * Linux names it; also {@code fat} and {@code msdos}): recognized by a valid BIOS Parameter
 * Block, mounted through {@link FatFs} with Linux's vfat mount options ({@link FatMountOptions}).
 */
public final class VfatFileSystemType implements FileSystemType {

    @Override
    public String name() {
        return "vfat";
    }

    @Override
    public List<String> aliases() {
        return List.of("fat", "msdos", "fat12", "fat16", "fat32");
    }

    @Override
    public Optional<String> probe(BlockDevice dev) throws ErrnoException {
        int n = Math.max(512, dev.sectorSize());
        if (dev.size() < n) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(0, b);
        try {
            return Optional.of(BootSector.parse(b, dev.size()).describe());
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EUCLEAN) {
                return Optional.of("vfat, damaged: " + e.detail());
            }
            return Optional.empty();
        }
    }

    @Override
    public FileSystemOps mount(BlockDevice dev, Options options) throws ErrnoException {
        try {
            FatMountOptions mo = FatMountOptions.parse(options.options());
            return FatFs.mount(dev, mo, options.readOnly(), options.wallNanos(), options.console())
                    .closing(options.owned().toArray(new AutoCloseable[0]));
        } catch (ErrnoException | RuntimeException | Error e) {
            options.closeOwned(e);
            throw e;
        }
    }
}
