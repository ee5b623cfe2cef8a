package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.jrump.fuzz.kit.meta.MetadataFuzz;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The metadata harnesses' seeds: {@code base} (options 0, the base image's whole blob) is what
 * the harness's {@link MetadataFuzz#seed()} gives today — the base image and its map are the same
 * bytes on every run — and it splices back to the base image byte for byte. With
 * {@code -Djrump.writeSeeds=true} the test writes the seeds instead: {@code base},
 * {@code base-keep-checksums} (options 1), {@code half-blob} (the blob's first half: the rest
 * stays as in the base), and with several bases {@code base-N} (base N's blob).
 */
class MetadataSeedsTest {
    static Stream<String> harnesses() {
        return HARNESSES.keySet().stream().sorted();
    }

    private static final Map<String, Supplier<MetadataFuzz>> HARNESSES = Map.of(
            "ExtMetadataFuzzTestInputs/metadataReadingIsTotal", MetadataBases::ext,
            "FatMetadataFuzzTestInputs/metadataOperationsAreTotal", MetadataBases::fat,
            "Qcow2MetadataFuzzTestInputs/metadataOpenReadAndCheckAreTotal", MetadataBases::qcow2,
            "PartitionMetadataFuzzTestInputs/gptTableReadingIsTotal", () -> MetadataBases.partitions("gpt-sgdisk-2m"),
            "PartitionMetadataFuzzTestInputs/mbrTableReadingIsTotal", () -> MetadataBases.partitions("dos-sfdisk-logical-2m"));

    @ParameterizedTest
    @MethodSource("harnesses")
    void baseSeedIsTheBaseImagesBlob(String dir) throws IOException {
        MetadataFuzz meta = HARNESSES.get(dir).get();
        byte[] seed = meta.seed();
        if (Boolean.getBoolean("jrump.writeSeeds")) {
            Path out = Path.of("src/test/resources/io/jrump/fuzz", dir);
            Files.createDirectories(out);
            Files.write(out.resolve("base"), seed);
            Files.write(out.resolve("base-keep-checksums"), MetadataFuzz.seed(1, meta.map().extract(meta.base())));
            Files.write(out.resolve("half-blob"), Arrays.copyOf(seed, 1 + (seed.length - 1) / 2));
            for (int i = 1; i < meta.bases(); i++) {
                Files.write(out.resolve("base-" + i), meta.seed(i));
            }
        }
        for (int i = 1; i < meta.bases(); i++) {
            try (InputStream in = getClass().getResourceAsStream(dir + "/base-" + i)) {
                assertNotNull(in, dir + "/base-" + i + " is missing");
                assertArrayEquals(meta.seed(i), in.readAllBytes(), dir + "/base-" + i);
            }
        }
        try (InputStream in = getClass().getResourceAsStream(dir + "/base")) {
            assertNotNull(in, dir + "/base is missing");
            assertArrayEquals(seed, in.readAllBytes(), dir + "/base is not the base image's blob: " + meta.map());
        }
        assertArrayEquals(meta.base(), meta.image(seed), "the base seed splices back to the base image");
    }
}
