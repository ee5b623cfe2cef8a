package io.jrump.fuzz;

import io.jrump.fuzz.kit.meta.MetadataFuzz;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * For bench/fuzz-structure-vs-bytes.sh: turns a metadata harness's corpus into the whole images
 * its inputs stand for (spliced, checksums fixed as the input's options say), in the form the
 * whole-image harness reads — so that both corpora are measured by the same target, and the
 * checksum fixer's own code is not counted. {@code map KIND} prints the base's map instead.
 *
 * <p>Usage: {@code MetadataCorpus images ext|fat|qcow2|gpt IN_DIR OUT_DIR} or {@code MetadataCorpus map KIND}.
 */
final class MetadataCorpus {
    private MetadataCorpus() {
    }

    public static void main(String[] args) throws IOException {
        MetadataFuzz meta = switch (args[1]) {
            case "ext" -> MetadataBases.ext();
            case "fat" -> MetadataBases.fat();
            case "qcow2" -> MetadataBases.qcow2();
            case "gpt" -> MetadataBases.partitions("gpt-sgdisk-2m");
            case "mbr" -> MetadataBases.partitions("dos-sfdisk-logical-2m");
            default -> throw new IllegalArgumentException("kind: ext, fat, qcow2, gpt or mbr, not " + args[1]);
        };
        if (args[0].equals("map")) {
            System.out.println(meta.map());
            return;
        }
        Path out = Files.createDirectories(Path.of(args[3]));
        int n = 0;
        try (DirectoryStream<Path> in = Files.newDirectoryStream(Path.of(args[2]))) {
            for (Path f : in) {
                byte[] image = meta.image(Files.readAllBytes(f));
                if (args[1].equals("gpt") || args[1].equals("mbr")) {
                    image = headAndTail(image); // PartitionTableFuzzTest#tableReadingIsTotal's input form
                }
                Files.write(out.resolve(f.getFileName()), image);
                n++;
            }
        }
        System.out.println(n + " images in " + out);
    }

    /** The first 34 and last 33 sectors of a disk, as {@link PartitionTableFuzzTest} places them. */
    private static byte[] headAndTail(byte[] disk) {
        byte[] out = Arrays.copyOf(disk, 67 * 512);
        System.arraycopy(disk, disk.length - 33 * 512, out, 34 * 512, 33 * 512);
        return out;
    }
}
