package io.jrump.fs.ext;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The nfdicf form ext4's casefolded directories compare and hash (NFD and full case folding). */
class CasefoldTest {
    private static void same(String a, String b) {
        assertEquals(Casefold.fold(a), Casefold.fold(b), a + " ~ " + b);
    }

    @Test
    void fullCaseFoldingAfterCanonicalDecomposition() {
        same("Straße", "STRASSE");
        same("Straße", "strasse");
        same("\u1E9E", "ss"); // capital sharp s
        same("ÅNGSTRÖM", "ångström");
        same("\u212BNGSTR\u00D6M", "A\u030Angstro\u0308m"); // angstrom sign, decomposed forms
        same("ΣΊΣΥΦΟΣ", "σίσυφος");
        same("σίσυφος", "σίσυφοσ"); // final sigma folds to sigma
        same("\uFB01le", "FILE"); // the fi ligature folds to "fi" (status F)
        same("\u1FB3", "\u1FBC"); // iota subscript and prosgegrammeni both fold to alpha iota
        assertEquals("i\u0307", Casefold.fold("\u0130")); // capital I with dot: i and a combining dot, not i
        assertNotEquals(Casefold.fold("I"), Casefold.fold("\u0130"));
        assertEquals("ss", Casefold.fold("ß"));
        assertEquals("abc-123", Casefold.fold("ABC-123"));
    }

    @Test
    void codePointsNewerThanUnicode12AreLeftAsTheyAre() {
        // U+A7C7 LATIN CAPITAL LETTER D WITH SHORT STROKE OVERLAY came in Unicode 13: the kernel's 12.1 tables keep it.
        assertEquals("\uA7C7", Casefold.fold("\uA7C7"));
        // U+1C89 CYRILLIC CAPITAL LETTER TJE (Unicode 14) likewise.
        assertEquals("\u1C89", Casefold.fold("\u1C89"));
    }

    @Test
    void invalidUtf8IsComparedAsRawBytes() {
        byte[] raw = {'A', (byte) 0xff, 'B'};
        assertArrayEquals(raw, Casefold.foldBytes(raw));
        assertArrayEquals("strasse".getBytes(StandardCharsets.UTF_8),
                Casefold.foldBytes("STRAßE".getBytes(StandardCharsets.UTF_8)));
        assertFalse(Casefold.validUtf8("a\uD800b"));
        assertTrue(Casefold.validUtf8("a\uD83D\uDE00b"));
    }
}
