package io.jrump.fuzz;

import io.jrump.fs.ext.Mkfs;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.fs.vfs.Vfs;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.fuzz.kit.Images;
import io.jrump.fuzz.kit.meta.ChecksumFixer;
import io.jrump.fuzz.kit.meta.ExtMetadata;
import io.jrump.fuzz.kit.meta.FatMetadata;
import io.jrump.fuzz.kit.meta.MetadataFuzz;
import io.jrump.fuzz.kit.meta.PartitionMetadata;
import io.jrump.fuzz.kit.meta.Qcow2Metadata;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.OpenFlags;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The base images of the metadata harnesses, the same bytes on every run: made by our mkfs
 * (ext4) or the whole-image harnesses' tool-made seeds (FAT:
 * mkfs.fat + mcopy; qcow2: qemu-img, seven of them) or small fixtures (partitions: sgdisk,
 * and sfdisk with logical partitions), each with its {@link MetadataFuzz}.
 */
final class MetadataBases {
    /** The ext disk: as {@link ExtFsFuzzTest}'s, so that its harness reads both. */
    static final int EXT_DISK = 64 * 1024;
    private static final byte[] EXT_UUID = "jrump-meta-ext4!".getBytes(StandardCharsets.US_ASCII);

    /**
     * ext4 (metadata_csum, extents, 64bit, no journal, 1 KiB blocks, 32 inodes) made by our
     * {@link Mkfs} at 64 KiB, with {@link Images#FILES} and their directories written as the kit's
     * {@link Images#populated} writes them, a sparse file of six extents (an extent block), a fast and a slow symlink, an in-inode xattr and one big
     * enough for an xattr block.
     */
    static MetadataFuzz ext() {
        try (FuzzWorld w = FuzzWorld.ofDisk(new byte[0], EXT_DISK)) {
            long now = Images.CREATED_EPOCH_SECONDS;
            Mkfs.format(w.disk(), Mkfs.Options.defaults(Mkfs.Type.EXT4, EXT_UUID, now).withBlockSize(1024)
                    .withBytesPerInode(2048).withFeatures("^has_journal,^resize_inode").withLazyItableInit(false));
            Vfs vfs = new Vfs(() -> SimWorld.WALL_ORIGIN_NANOS);
            vfs.mount("/", "ext4", w.disk(), FileSystemType.Options.of(false, () -> SimWorld.WALL_ORIGIN_NANOS));
            vfs.mkdir("/dir", 0755);
            vfs.mkdir("/dir/sub", 0755);
            for (String path : Images.FILES.keySet().stream().sorted().toList()) {
                int fd = vfs.open(path, OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644);
                vfs.write(fd, ByteBuffer.wrap(Images.FILES.get(path).getBytes(StandardCharsets.UTF_8)));
                vfs.close(fd);
            }
            int sparse = vfs.open("/dir/sparse.bin", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644);
            for (int k = 0; k < 6; k++) { // six extents with holes between: more than the inode holds, so an extent block
                vfs.pwrite(sparse, ByteBuffer.wrap(new byte[1024]).put(0, (byte) (k + 1)), k * 2048L);
            }
            vfs.close(sparse);
            vfs.symlink("hello.txt", "/link");
            vfs.symlink("/dir/sub/" + "long-target-".repeat(8) + "b.bin", "/dir/longlink");
            vfs.setxattr("/hello.txt", "user.small", "v".getBytes(StandardCharsets.UTF_8), 0, true);
            byte[] big = new byte[400];
            Arrays.fill(big, (byte) 'x');
            vfs.setxattr("/dir/a.txt", "user.big", big, 0, true);
            vfs.close();
            byte[] image = new byte[EXT_DISK];
            w.disk().read(0, ByteBuffer.wrap(image));
            // Sealed as the fixer seals (it also seals unused inodes, which our writer leaves at 0),
            // so that the unchanged blob gives back this image byte for byte.
            ExtMetadata.fixChecksums(image);
            return MetadataFuzz.of(image, ExtMetadata.map(image), ExtMetadata::fixChecksums);
        } catch (ErrnoException e) {
            throw new IllegalStateException("making the ext base image", e);
        }
    }

    /** FAT12 from {@link FatFsFuzzTest}'s seed, zero-padded to its 64 KiB disk. */
    static MetadataFuzz fat() {
        byte[] image = Arrays.copyOf(resource("FatFsFuzzTestInputs/everyOperationIsTotal/fat12-64k-mcopy"), 64 * 1024);
        return MetadataFuzz.of(image, FatMetadata.map(image), ChecksumFixer.NONE);
    }

    /**
     * qcow2, the seven seeds of {@link Qcow2FuzzTest} as bases (bits 1-3 of the options byte choose
     * one): the first is {@code qcow2-snapshots-512} (qemu-img, v3, 512-byte clusters, two internal
     * snapshots), then v2, v3, deflate and zstd compressed, extended L2 and a persistent bitmap.
     */
    static MetadataFuzz qcow2() {
        List<MetadataFuzz> bases = new ArrayList<>();
        for (String seed : List.of("qcow2-snapshots-512", "qcow2-v2-512", "qcow2-v3-512", "qcow2-compressed-512",
                "qcow2-zstd-512", "qcow2-extended-l2-16k", "qcow2-bitmap-512")) {
            byte[] image = resource("Qcow2FuzzTestInputs/openReadAndCheckAreTotal/" + seed);
            bases.add(MetadataFuzz.of(image, Qcow2Metadata.map(image), ChecksumFixer.NONE));
        }
        return MetadataFuzz.oneOf(bases);
    }

    /**
     * A whole 2 MiB disk, gzipped under {@code meta-bases/}: {@code gpt-sgdisk-2m.img} ({@code
     * truncate -s 2M}, then {@code sgdisk -n 1:2048:2559 -t 1:8300 -c 1:root -n 2:2560:3583 -t
     * 2:8200 -c 2:swap -n 3:3584:4062 -t 3:0700 -c 3:data}) or {@code dos-sfdisk-logical-2m.img}
     * ({@code sfdisk} of {@code label: dos}, a primary at 64 (512 sectors), an extended at 1024
     * (2048) holding logicals at 1088 and 1536 (256 each): EBRs at sectors 1024 and 1535).
     */
    static MetadataFuzz partitions(String base) {
        byte[] image;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(resource("meta-bases/" + base + ".img.gz")))) {
            image = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return MetadataFuzz.of(image, PartitionMetadata.map(image), PartitionMetadata::fixChecksums);
    }

    private static byte[] resource(String path) {
        try (InputStream in = MetadataBases.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("no resource " + path);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
