package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtTools.run;
import static io.jrump.fs.ext.ExtWriteTest.readFile;
import static io.jrump.fs.ext.ExtWriteTest.resolve;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * casefold and encrypt against e2fsprogs and the kernel. Casefolded directories are made the
 * way {@code chattr +F} makes them (the flag on an empty directory, here through debugfs, as
 * the kernel here may lack CONFIG_UNICODE) and indexed by {@code e2fsck -D}, which hashes the
 * folded names: our lookups through that index by other spellings find the names, so our
 * folding and hashing agree with e2fsprogs'. Our own writes into such directories (hundreds of
 * names, so an htree we split) pass {@code e2fsck -fn}, which checks each leaf's hashes of the
 * folded names. The kernel reads them where it has CONFIG_UNICODE; where it has not, it must
 * refuse the mount for that reason. Encrypted directories are made by the kernel's fscrypt
 * ioctls (fscrypt-dir.py) and refused by us per file with ENOKEY, the rest of the filesystem
 * read and written.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (mount -o loop); ./run-tests, as root, runs it")
class CasefoldEncryptTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("casefold");

    private static final int ENCRYPTED_FILES = 300;
    private static final String[] SPECIAL = {"Straße", "ÅNGSTRÖM", "ΣΊΣΥΦΟΣ", "ǅemal", "ﬁle"};

    @AfterEach
    void close() {
        host.close();
    }

    /** Whether the running kernel was built with CONFIG_UNICODE (without it ext4 refuses casefold filesystems). */
    static boolean kernelHasUnicode() throws Exception {
        String config = null;
        Path gz = Path.of("/proc/config.gz");
        if (Files.isReadable(gz)) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
                config = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            }
        } else {
            Path boot = Path.of("/boot/config-" + run("uname", "-r").trim());
            if (Files.isReadable(boot)) {
                config = Files.readString(boot, StandardCharsets.ISO_8859_1);
            }
        }
        return config == null || config.contains("\nCONFIG_UNICODE=y") || config.contains("\nCONFIG_UNICODE=m");
    }

    private ExtVfs mount(Path img, boolean readOnly) throws Exception {
        return ExtVfs.mount(HostDisk.open(host, img.toString(), readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE),
                readOnly ? ExtFs.MountOptions.readOnlyMount() : ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW));
    }

    /** An image whose /cf is an empty casefolded directory, as {@code chattr +F} leaves it. */
    private Path casefoldImage(String spec) throws Exception {
        Path img = dir.resolve("cf.img");
        List<String> cmd = new ArrayList<>(List.of("mke2fs", "-q", "-F", "-t", "ext4"));
        cmd.addAll(List.of(spec.split(" ")));
        cmd.addAll(List.of(img.toString(), "32M"));
        run(cmd.toArray(String[]::new));
        run("debugfs", "-w", "-R", "mkdir cf", img.toString());
        run("debugfs", "-w", "-R", "mkdir plain", img.toString());
        int flags = Inode.EXTENTS_FL | Casefold.CASEFOLD_FL;
        run("debugfs", "-w", "-R", "set_inode_field cf flags 0x" + Integer.toHexString(flags), img.toString());
        return img;
    }

    private static String upper(String s) {
        return s.toUpperCase(Locale.ROOT);
    }

    @ParameterizedTest
    @ValueSource(strings = {"-b 4096 -O casefold -E encoding_flags=strict", "-b 1024 -O casefold,^metadata_csum"})
    void namesE2fsprogsIndexedAreLookedUpCaseInsensitivelyThroughTheIndex(String spec) throws Exception {
        Path img = casefoldImage(spec);
        StringBuilder cmds = new StringBuilder();
        for (String s : SPECIAL) {
            cmds.append("write /dev/null cf/").append(s).append('\n');
        }
        for (int i = 0; i < 300; i++) {
            cmds.append("write /dev/null cf/Name-").append(i).append("-Ä\n");
        }
        cmds.append("write /dev/null plain/Straße\n");
        Path cmdFile = dir.resolve("cmds");
        Files.writeString(cmdFile, cmds);
        run("debugfs", "-w", "-f", cmdFile.toString(), img.toString());
        // e2fsck -D indexes the directory, hashing the folded names.
        StringBuilder out = new StringBuilder();
        int rc = exec(out, "e2fsck", "-fyD", img.toString());
        assertTrue(rc == 0 || rc == 1, out.toString());
        assertTrue(run("debugfs", "-R", "htree cf", img.toString()).contains("Root node dump"));
        assertClean(img);
        try (ExtVfs fs = mount(img, true)) {
            assertEquals(List.of(), ExtCheck.check(fs.ext()).problems()); // our checker walks the index by folded hashes
            long cf = resolve(fs, "/cf");
            assertTrue(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(cf)));
            String[][] others = {{"Straße", "STRASSE", "strasse", "STRAẞE"}, {"ÅNGSTRÖM", "ångström", "\u212Bngstro\u0308m"},
                {"ΣΊΣΥΦΟΣ", "σίσυφος", "σίσυφοσ"}, {"ǅemal", "ǆEMAL", "Ǆemal"}, {"ﬁle", "FILE", "file"}};
            for (String[] names : others) {
                long ino = fs.lookup(cf, names[0]);
                for (String other : names) {
                    assertEquals(ino, fs.lookup(cf, other), other);
                }
            }
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < 300; i++) {
                long ino = fs.lookup(cf, "NAME-" + i + "-ä");
                assertEquals(ino, fs.lookup(cf, "name-" + i + "-A\u0308"));
                assertTrue(seen.add(ino));
            }
            ErrnoException e = assertThrows(ErrnoException.class, () -> fs.lookup(cf, "Name-300-Ä"));
            assertEquals(Errno.ENOENT, e.errno());
            // readdir keeps each name as it was written.
            Set<String> listed = new HashSet<>();
            for (DirEntry d : fs.readdir(cf)) {
                listed.add(d.name());
            }
            assertTrue(listed.containsAll(List.of(SPECIAL)), listed.toString());
            assertEquals(fs.lookup(cf, "Straße"), fs.lookup(cf, "STRASSE")); // now from the name map readdir left
            // An ordinary directory on the same filesystem stays case-sensitive.
            long plain = resolve(fs, "/plain");
            fs.lookup(plain, "Straße");
            assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> fs.lookup(plain, "STRASSE")).errno());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"-b 4096 -O casefold -E encoding_flags=strict", "-b 1024 -O casefold",
        "-b 4096 -O casefold,^metadata_csum"})
    void ourWritesIntoCasefoldedDirectoriesAreCleanAndFoundByOtherSpellings(String spec) throws Exception {
        Path img = casefoldImage(spec);
        boolean strict = spec.contains("strict");
        List<String> names = new ArrayList<>(List.of(SPECIAL));
        for (int i = 0; i < 400; i++) {
            names.add((i % 2 == 0 ? "Grüße-" : "Ωμέγα-") + i + "-" + "x".repeat(i % 40));
        }
        long subdir;
        try (ExtVfs fs = mount(img, false)) {
            long cf = resolve(fs, "/cf");
            for (String n : names) {
                writeFile(fs, "/cf/" + n, n.getBytes(StandardCharsets.UTF_8));
            }
            // A name that folds to one already there is taken.
            for (String n : List.of("STRASSE", "ångström", "σίσυφοσ", upper(names.get(100)))) {
                ErrnoException e = assertThrows(ErrnoException.class,
                        () -> fs.create(cf, n, Attributes.S_IFREG | 0644, 0, 0, 0), n);
                assertEquals(Errno.EEXIST, e.errno(), n);
            }
            if (strict) {
                // A name that is not UTF-8 (a Java string with a lone surrogate) is refused, as ext4_add_entry does.
                ErrnoException bad = assertThrows(ErrnoException.class,
                        () -> fs.create(cf, "bad\uD800", Attributes.S_IFREG | 0644, 0, 0, 0));
                assertEquals(Errno.EINVAL, bad.errno());
            }
            // New directories inherit the flag, as ext4's do.
            subdir = fs.create(cf, "Sub", Attributes.S_IFDIR | 0755, 0, 0, 0);
            assertNotEquals(0, fs.ext().inode(subdir).flags() & Casefold.CASEFOLD_FL);
            writeFile(fs, "/cf/SUB/Inner", new byte[] {1});
            assertEquals(subdir, fs.lookup(cf, "sub"));
            // Rename to another spelling of the same name changes nothing; unlink by another spelling removes it.
            long gr = fs.lookup(cf, names.get(6));
            fs.rename(cf, upper(names.get(6)), cf, names.get(6).toLowerCase(Locale.ROOT), x -> false);
            assertEquals(gr, fs.lookup(cf, names.get(6)));
            fs.unlink(cf, "ǆEMAL", false);
            names.remove("ǅemal");
            fs.rename(cf, "FILE", cf, "Renamed-Ǳ", x -> false);
            names.remove("ﬁle");
            names.add("Renamed-Ǳ");
        }
        assertClean(img);
        assertTrue(run("debugfs", "-R", "htree cf", img.toString()).contains("Root node dump"));
        assertTrue(run("debugfs", "-R", "stat cf/Sub", img.toString()).contains("Flags: 0x40080000"));
        try (ExtVfs fs = mount(img, true)) {
            long cf = resolve(fs, "/cf");
            for (String n : names) {
                String want = n.equals("Renamed-Ǳ") ? "ﬁle" : n;
                assertArrayEquals(want.getBytes(StandardCharsets.UTF_8), readFile(fs, "/cf/" + upper(n)), n);
                assertArrayEquals(want.getBytes(StandardCharsets.UTF_8),
                        readFile(fs, "/cf/" + n.toLowerCase(Locale.ROOT)), n);
            }
            assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> fs.lookup(cf, "ǄEMAL")).errno());
            assertEquals(List.of(), ExtCheck.check(fs.ext()).problems());
            assertArrayEquals(new byte[] {1}, readFile(fs, "/cf/sub/INNER"));
        }
        kernelReads(img, names);
    }

    /** The kernel finds our names by other spellings; a kernel without CONFIG_UNICODE refuses the mount for that. */
    private void kernelReads(Path img, List<String> names) throws Exception {
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        StringBuilder out = new StringBuilder();
        int rc = exec(out, "mount", "-o", "loop,ro", img.toString(), mnt.toString());
        if (!kernelHasUnicode()) {
            assertNotEquals(0, rc, "a kernel without CONFIG_UNICODE mounted a casefold filesystem");
            assertTrue(run("dmesg").contains("cannot be mounted without CONFIG_UNICODE"), "kernel log");
            return;
        }
        assertEquals(0, rc, out.toString());
        try {
            for (String n : names) {
                assertTrue(Files.exists(mnt.resolve("cf").resolve(upper(n))), n);
            }
        } finally {
            run("umount", mnt.toString());
        }
    }

    @Test
    void theCasefoldFlagIsSetAsChattrSetsIt() throws Exception {
        Path img = dir.resolve("chattr.img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-O", "casefold", img.toString(), "32M");
        try (ExtVfs fs = mount(img, false)) {
            long full = ExtWriteTest.mkdir(fs, "/full");
            long file = writeFile(fs, "/full/file", new byte[] {1});
            assertEquals(Errno.ENOTEMPTY, assertThrows(ErrnoException.class, () -> fs.setCasefold(full, true)).errno());
            assertEquals(Errno.ENOTDIR, assertThrows(ErrnoException.class, () -> fs.setCasefold(file, true)).errno());
            long cf = ExtWriteTest.mkdir(fs, "/cf");
            fs.setCasefold(cf, true);
            assertTrue(fs.isCasefolded(cf));
            assertFalse(fs.isCasefolded(full));
            for (int i = 0; i < 300; i++) {
                writeFile(fs, "/cf/Größe-" + i, new byte[] {(byte) i});
            }
            assertEquals(Errno.ENOTEMPTY, assertThrows(ErrnoException.class, () -> fs.setCasefold(cf, false)).errno());
            long empty = ExtWriteTest.mkdir(fs, "/cf/Empty");
            assertTrue(fs.isCasefolded(empty)); // inherited
            fs.setCasefold(empty, false);
            assertFalse(fs.isCasefolded(empty));
            writeFile(fs, "/cf/EMPTY/Case", new byte[] {7});
            assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> resolve(fs, "/cf/empty/case")).errno());
        }
        assertClean(img);
        assertTrue(run("debugfs", "-R", "stat cf", img.toString()).contains("Flags: 0x40081000")); // casefold, extents, index
        try (ExtVfs fs = mount(img, true)) {
            for (int i = 0; i < 300; i++) {
                assertArrayEquals(new byte[] {(byte) i}, readFile(fs, "/cf/GRÖSSE-" + i));
            }
        }
        Path plain = dir.resolve("plain.img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", plain.toString(), "8M");
        try (ExtVfs fs = mount(plain, false)) {
            long d = ExtWriteTest.mkdir(fs, "/d");
            assertEquals(Errno.EOPNOTSUPP, assertThrows(ErrnoException.class, () -> fs.setCasefold(d, true)).errno());
        }
    }

    @Test
    void anUnknownEncodingIsRefusedByName() throws Exception {
        Path img = casefoldImage("-b 4096 -O casefold");
        run("debugfs", "-w", "-R", "ssv encoding 7", img.toString());
        ErrnoException e = assertThrows(ErrnoException.class, () -> mount(img, true));
        assertEquals(Errno.EOPNOTSUPP, e.errno());
        assertTrue(e.getMessage().contains("casefold with s_encoding 7"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-b 4096 -O encrypt", "-b 1024 -O encrypt,^metadata_csum"})
    void encryptedFilesAreRefusedOneByOneAndTheRestIsOrdinary(String spec) throws Exception {
        Path img = dir.resolve("enc.img");
        List<String> cmd = new ArrayList<>(List.of("mke2fs", "-q", "-F", "-t", "ext4"));
        cmd.addAll(List.of(spec.split(" ")));
        cmd.addAll(List.of(img.toString(), "32M"));
        run(cmd.toArray(String[]::new));
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Path script = dir.resolve("fscrypt-dir.py");
        try (InputStream in = getClass().getResourceAsStream("fscrypt-dir.py")) {
            Files.write(script, in.readAllBytes());
        }
        run("mount", "-o", "loop", img.toString(), mnt.toString());
        try {
            Files.createDirectories(mnt.resolve("enc"));
            Files.createDirectories(mnt.resolve("plain"));
            Files.writeString(mnt.resolve("plain/f"), "in the clear\n");
            List<String> py = new ArrayList<>(List.of("python3", script.toString(), mnt.toString(),
                    mnt.resolve("enc").toString()));
            for (int i = 0; i < ENCRYPTED_FILES; i++) {
                py.add("secret-file-" + i); // enough names for an htree, whose hashes are of the encrypted names
            }
            run(py.toArray(String[]::new));
            Files.createDirectories(mnt.resolve("empty"));
            run("python3", script.toString(), mnt.toString(), mnt.resolve("empty").toString());
        } finally {
            run("umount", mnt.toString());
        }
        assertClean(img);
        List<Long> encrypted = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^\\s*(\\d+)\\s+100644.*<encrypted").matcher(
                run("debugfs", "-R", "ls -l enc", img.toString()));
        while (m.find()) {
            encrypted.add(Long.parseLong(m.group(1)));
        }
        assertEquals(ENCRYPTED_FILES, encrypted.size());
        assertTrue(run("debugfs", "-R", "htree enc", img.toString()).contains("Root node dump"));
        byte[] ours = ExtWriteTest.random(200_000, 7);
        try (ExtVfs fs = mount(img, false)) {
            assertFalse(fs.isReadOnly());
            assertEquals(List.of(), ExtCheck.check(fs.ext()).problems());
            assertArrayEquals("in the clear\n".getBytes(StandardCharsets.UTF_8), readFile(fs, "/plain/f"));
            long enc = resolve(fs, "/enc");
            assertEquals(Attributes.S_IFDIR, fs.getattr(enc).mode() & 0xF000); // attributes stay readable
            assertEquals(Errno.ENOKEY, assertThrows(ErrnoException.class, () -> fs.readdir(enc)).errno());
            assertEquals(Errno.ENOKEY, assertThrows(ErrnoException.class, () -> fs.lookup(enc, "one")).errno());
            assertEquals(Errno.ENOKEY, assertThrows(ErrnoException.class,
                    () -> fs.create(enc, "new", Attributes.S_IFREG | 0644, 0, 0, 0)).errno());
            assertEquals(Errno.ENOKEY, assertThrows(ErrnoException.class,
                    () -> fs.rename(resolve(fs, "/plain"), "f", enc, "f", x -> false)).errno());
            for (long ino : encrypted) {
                assertTrue(fs.getattr(ino).size() > 20);
                assertEquals(Errno.ENOKEY, assertThrows(ErrnoException.class,
                        () -> fs.read(ino, 0, ByteBuffer.allocate(20))).errno());
                assertEquals(Errno.ENOKEY, assertThrows(ErrnoException.class,
                        () -> fs.write(ino, 0, ByteBuffer.wrap(new byte[1]))).errno());
                assertEquals(Errno.ENOKEY, assertThrows(ErrnoException.class, () -> fs.truncate(ino, 0)).errno());
            }
            assertEquals(Errno.ENOTEMPTY, assertThrows(ErrnoException.class,
                    () -> fs.rmdir(fs.rootInode(), "enc", false)).errno());
            assertTrue(Encrypted.is(fs.ext().inode(resolve(fs, "/empty"))));
            fs.rmdir(fs.rootInode(), "empty", false); // an empty encrypted directory goes, as without the key on Linux
            writeFile(fs, "/plain/ours", ours);
            ExtWriteTest.mkdir(fs, "/plain/d");
        }
        assertClean(img);
        run("mount", "-o", "loop,ro", img.toString(), mnt.toString());
        try {
            assertArrayEquals(ours, Files.readAllBytes(mnt.resolve("plain/ours")));
            try (var list = Files.list(mnt.resolve("enc"))) {
                assertEquals(ENCRYPTED_FILES, list.count()); // still there, under their no-key names
            }
        } finally {
            run("umount", mnt.toString());
        }
    }
}
