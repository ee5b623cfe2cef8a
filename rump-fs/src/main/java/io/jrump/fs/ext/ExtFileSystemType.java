package io.jrump.fs.ext;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * ext2, ext3 and ext4 as a {@link FileSystemType}: recognized by the superblock magic, named the
 * way blkid names them (a journal makes ext3; extents, flex_bg, 64bit, huge_file, metadata_csum
 * or other ext4-only features make ext4), mounted through {@link ExtVfs}. Mount options: {@code acl} (POSIX ACLs enforced by the VFS) and {@code noacl};
 * {@code force} (write even when damage is recorded or found); {@code check=none|auto|full} (when
 * a read-write mount runs the checker first; see {@link ExtFs.Check}).
 */
public final class ExtFileSystemType implements FileSystemType {
    private static final int EXT4_INCOMPAT = Superblock.INCOMPAT_EXTENTS | Superblock.INCOMPAT_64BIT
            | Superblock.INCOMPAT_FLEX_BG | Superblock.INCOMPAT_MMP | Superblock.INCOMPAT_EA_INODE
            | Superblock.INCOMPAT_CSUM_SEED | Superblock.INCOMPAT_LARGEDIR | Superblock.INCOMPAT_INLINE_DATA
            | Superblock.INCOMPAT_ENCRYPT | Superblock.INCOMPAT_CASEFOLD;
    private static final int EXT4_RO_COMPAT = Superblock.RO_COMPAT_HUGE_FILE | Superblock.RO_COMPAT_GDT_CSUM
            | Superblock.RO_COMPAT_METADATA_CSUM | 0x20 /* dir_nlink */ | 0x40 /* extra_isize */;

    @Override
    public String name() {
        return "ext4";
    }

    @Override
    public List<String> aliases() {
        return List.of("ext2", "ext3", "ext");
    }

    @Override
    public Optional<String> probe(BlockDevice dev) throws ErrnoException {
        if (dev.size() < Superblock.OFFSET + Superblock.SIZE) {
            return Optional.empty();
        }
        // Whole sectors: on a 4096-byte-sector device the superblock's 2048 bytes are one sector's read.
        int sector = dev.sectorSize();
        int length = (Superblock.OFFSET + Superblock.SIZE + sector - 1) / sector * sector;
        if (dev.size() < length) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(0, b);
        int sb = Superblock.OFFSET;
        if ((b.getShort(sb + 56) & 0xffff) != Superblock.MAGIC) { // s_magic
            return Optional.empty();
        }
        int compat = b.getInt(sb + 92);     // s_feature_compat
        int incompat = b.getInt(sb + 96);   // s_feature_incompat
        int roCompat = b.getInt(sb + 100);  // s_feature_ro_compat
        String kind = (incompat & EXT4_INCOMPAT) != 0 || (roCompat & EXT4_RO_COMPAT) != 0 ? "ext4"
                : (compat & Superblock.COMPAT_HAS_JOURNAL) != 0 ? "ext3" : "ext2";
        int logBlock = b.getInt(sb + 24);   // s_log_block_size
        StringBuilder d = new StringBuilder(kind);
        if (logBlock >= 0 && logBlock <= 6) {
            d.append(", ").append(1024 << logBlock).append("-byte blocks");
        } else {
            d.append(", bad block size (s_log_block_size ").append(Integer.toUnsignedString(logBlock)).append(')');
        }
        long blocks = Integer.toUnsignedLong(b.getInt(sb + 4)); // s_blocks_count_lo
        if ((incompat & Superblock.INCOMPAT_64BIT) != 0) {
            blocks |= Integer.toUnsignedLong(b.getInt(sb + 0x150)) << 32; // s_blocks_count_hi
        }
        d.append(", ").append(blocks).append(" blocks");
        byte[] label = new byte[16]; // s_volume_name
        b.get(sb + 120, label);
        int n = 0;
        while (n < label.length && label[n] != 0) {
            n++;
        }
        if (n > 0) {
            d.append(", label '").append(new String(label, 0, n, StandardCharsets.UTF_8)).append('\'');
        }
        return Optional.of(d.toString());
    }

    @Override
    public FileSystemOps mount(BlockDevice dev, Options options) throws ErrnoException {
        try {
            java.util.Set<String> unknown = new java.util.TreeSet<>(options.options().keySet());
            boolean force = unknown.remove("force");
            unknown.removeAll(java.util.Set.of("acl", "noacl", "check"));
            if (!unknown.isEmpty()) {
                throw new ErrnoException(Errno.EINVAL, dev.name() + ": ext4 takes the mount options acl, noacl, force and"
                        + " check=none|auto|full, not " + String.join(",", unknown));
            }
            boolean acl = options.options().containsKey("acl") && !options.options().containsKey("noacl");
            ExtFs.MountOptions mo = options.readOnly() ? ExtFs.MountOptions.readOnlyMount()
                    : ExtFs.MountOptions.readWrite(options.wallNanos());
            if (force) {
                mo = mo.withForce();
            }
            if (options.options().containsKey("check")) {
                mo = mo.withCheck(check(dev.name(), options.options().get("check")));
            }
            if (options.console() != null) {
                mo = mo.withConsole(options.console());
            }
            if (options.host() != null) {
                mo = mo.withMmp(MmpHost.of(options.host())); // multi-mount protection waits on the host
            }
            return ExtVfs.mount(dev, mo).enforcingAcls(acl).closing(options.owned().toArray(new AutoCloseable[0]));
        } catch (ErrnoException | RuntimeException | Error e) {
            options.closeOwned(e);
            throw e;
        }
    }

    /** {@code check} alone is {@code check=full}, as ext2's old {@code check} option was a full check. */
    private static ExtFs.Check check(String device, String value) throws ErrnoException {
        return switch (value) {
            case "", "full", "strict" -> ExtFs.Check.FULL;
            case "auto", "normal" -> ExtFs.Check.AUTO;
            case "none" -> ExtFs.Check.NONE;
            default -> throw new ErrnoException(Errno.EINVAL, device + ": mount option check=" + value
                    + ": expected check=none, check=auto or check=full");
        };
    }
}
