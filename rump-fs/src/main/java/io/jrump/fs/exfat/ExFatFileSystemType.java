package io.jrump.fs.exfat;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * exFAT as a {@link FileSystemType} ({@code exfat}, as Linux names it): recognized by its boot
 * sector's jump and name, mounted through {@link ExFatFs} with Linux's exfat mount options
 * ({@link ExFatMountOptions}).
 */
public final class ExFatFileSystemType implements FileSystemType {

    @Override
    public String name() {
        return "exfat";
    }

    @Override
    public Optional<String> probe(BlockDevice dev) throws ErrnoException {
        int n = Math.max(512, dev.sectorSize());
        if (dev.size() < n) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(0, b);
        if (!ExFatBoot.looksLikeExFat(b)) {
            return Optional.empty();
        }
        try {
            ExFatBoot boot = ExFatBoot.parse(b, dev.size());
            return Optional.of(boot.describe(ExFatFs.probeLabel(dev, boot)));
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EUCLEAN || e.errno() == Errno.EINVAL) {
                return Optional.of("exfat, damaged: " + e.detail());
            }
            throw e;
        }
    }

    @Override
    public FileSystemOps mount(BlockDevice dev, Options options) throws ErrnoException {
        try {
            ExFatMountOptions mo = ExFatMountOptions.parse(options.options());
            return ExFatFs.mount(dev, mo, options.readOnly(), options.wallNanos(), options.console())
                    .closing(options.owned().toArray(new AutoCloseable[0]));
        } catch (ErrnoException | RuntimeException | Error e) {
            options.closeOwned(e);
            throw e;
        }
    }
}
