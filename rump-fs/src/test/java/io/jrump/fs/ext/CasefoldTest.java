package io.jrump.fs.ext;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The nfdicf form ext4's casefolded directories compare and hash (NFD and full case folding),
 * against e2fsprogs' own implementation (its utf8 tables are the kernel's, Unicode 12.1):
 * {@code e2fsck -D} indexes a casefolded directory of a name for every character the folding
 * table maps and many that decompose, hashing their folded forms; looking each name up through
 * that index finds it only where our folded form hashes as e2fsprogs' does.
 */
class CasefoldTest {
    @TempDir
    Path dir;
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

    @Test
    void everyFoldedCharacterHashesAsE2fsprogsHashesIt() throws Exception {
        TreeSet<Integer> cps = new TreeSet<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                Casefold.class.getResourceAsStream("casefolding.txt"), StandardCharsets.US_ASCII))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (!line.startsWith("#")) {
                    cps.add(Integer.parseInt(line.split(" ")[0], 16));
                }
            }
        }
        int[][] ranges = {{0xC0, 0x24F}, {0x370, 0x3FF}, {0x400, 0x4FF}, {0x1E00, 0x1FFF}, {0xAC00, 0xAC40}, {0x2160, 0x2188},
            {0xA790, 0xA7FF}}; // the last holds letters of Unicode 13, which both leave unfolded
        for (int[] range : ranges) {
            for (int cp = range[0]; cp <= range[1]; cp++) {
                if (Character.isDefined(cp)) {
                    cps.add(cp);
                }
            }
        }
        List<String> names = new ArrayList<>();
        StringBuilder cmds = new StringBuilder();
        for (int cp : cps) {
            String name = "n-" + new String(Character.toChars(cp)) + "-" + Integer.toHexString(cp);
            if (!Casefold.validUtf8(name) || name.chars().anyMatch(Character::isWhitespace)) {
                continue;
            }
            names.add(name);
            cmds.append("write /dev/null cf/").append(name).append('\n');
        }
        Path img = dir.resolve("cf.img");
        ExtTools.run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-O", "casefold", img.toString(), "16M");
        ExtTools.run("debugfs", "-w", "-R", "mkdir cf", img.toString());
        ExtTools.run("debugfs", "-w", "-R", "set_inode_field cf flags 0x"
                + Integer.toHexString(Inode.EXTENTS_FL | Casefold.CASEFOLD_FL), img.toString());
        Path cmdFile = dir.resolve("cmds");
        Files.writeString(cmdFile, cmds);
        ExtTools.run("debugfs", "-w", "-f", cmdFile.toString(), img.toString());
        StringBuilder out = new StringBuilder();
        int rc = ExtTools.exec(out, "e2fsck", "-fyD", img.toString());
        assertTrue(rc == 0 || rc == 1, out.toString());
        ExtTools.assertClean(img);
        try (JvmHost host = JvmHost.create("casefold-unit");
             ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                     ExtFs.MountOptions.readOnlyMount())) {
            long cf = fs.lookup(fs.rootInode(), "cf");
            assertTrue(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(cf)));
            List<String> missed = new ArrayList<>();
            for (String name : names) {
                try {
                    fs.lookup(cf, name);
                } catch (io.jrump.hypercall.ErrnoException e) {
                    missed.add(name);
                }
            }
            assertEquals(List.of(), missed, "of " + names.size() + " names");
        }
    }
}
