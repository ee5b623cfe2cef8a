package io.jrump.fs.ext;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The six htree name hashes agree with e2fsprogs'. Each expected value was printed by
 * {@code debugfs -R "dx_hash -h VERSION [-s 3f1c2a7e-9b4d-4e8a-a1b2-c3d4e5f60718] NAME" /dev/null}
 * (debugfs 1.47.0), VERSION as a number: 0 legacy, 1 half_md4, 2 tea, 3-5 their unsigned-char
 * variants. Names past 16 and 32 bytes take more than one round; the UTF-8 name has bytes above
 * 0x7f, where the signed and unsigned variants part.
 */
class DxHashTest {
    /** The seed above as s_hash_seed holds it: the UUID's bytes read as four little-endian words. */
    private static final int[] SEED = {0x7e2a1c3f, 0x8a4e4d9b, 0xd4c3b2a1, 0x1807f6e5};

    @ParameterizedTest
    @CsvSource({
        "0, a, false, 0xe74b53e2",
        "0, a, true, 0xe74b53e2",
        "0, hello, false, 0x32252546",
        "0, hello, true, 0x32252546",
        "0, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, false, 0x34d3fcb4",
        "0, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, true, 0x34d3fcb4",
        "0, ünïcödé-名前, false, 0x66f3e990",
        "0, ünïcödé-名前, true, 0x66f3e990",
        "1, a, false, 0xd5fa7d7a",
        "1, a, true, 0x3a0d73e4",
        "1, hello, false, 0x1746da32",
        "1, hello, true, 0xd3be049e",
        "1, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, false, 0x7627c40a",
        "1, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, true, 0x93236c4",
        "1, ünïcödé-名前, false, 0xe4d05182",
        "1, ünïcödé-名前, true, 0x6b1225d0",
        "2, a, false, 0x6d0ea4c0",
        "2, a, true, 0x3587175e",
        "2, hello, false, 0x6f5bb1a8",
        "2, hello, true, 0x9c2c9a50",
        "2, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, false, 0x9e9095e4",
        "2, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, true, 0x3e9beb56",
        "2, ünïcödé-名前, false, 0xa0a0dc78",
        "2, ünïcödé-名前, true, 0x9899a740",
        "3, a, false, 0xe74b53e2",
        "3, a, true, 0xe74b53e2",
        "3, hello, false, 0x32252546",
        "3, hello, true, 0x32252546",
        "3, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, false, 0x34d3fcb4",
        "3, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, true, 0x34d3fcb4",
        "3, ünïcödé-名前, false, 0x97ea1b2",
        "3, ünïcödé-名前, true, 0x97ea1b2",
        "4, a, false, 0xd5fa7d7a",
        "4, a, true, 0x3a0d73e4",
        "4, hello, false, 0x1746da32",
        "4, hello, true, 0xd3be049e",
        "4, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, false, 0x7627c40a",
        "4, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, true, 0x93236c4",
        "4, ünïcödé-名前, false, 0x4ddbb7e6",
        "4, ünïcödé-名前, true, 0x20f376c0",
        "5, a, false, 0x6d0ea4c0",
        "5, a, true, 0x3587175e",
        "5, hello, false, 0x6f5bb1a8",
        "5, hello, true, 0x9c2c9a50",
        "5, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, false, 0x9e9095e4",
        "5, entry-with-a-fairly-long-name-01234-and-more-bytes-to-pass-32, true, 0x3e9beb56",
        "5, ünïcödé-名前, false, 0xdeefb1f6",
        "5, ünïcödé-名前, true, 0x35624a4c"
    })
    void hashesAreThoseOfE2fsprogs(int version, String name, boolean seeded, String expected) {
        int want = Integer.parseUnsignedInt(expected.substring(2), 16);
        assertEquals(want, DxHash.hash(version, name.getBytes(StandardCharsets.UTF_8), seeded ? SEED : new int[4]),
                () -> "version " + version + " of " + name + ": expected " + expected);
    }
}
