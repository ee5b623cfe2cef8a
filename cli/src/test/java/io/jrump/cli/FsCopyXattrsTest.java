package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rump fs cp -a} keeps extended attributes in every namespace between an ext4 image and the
 * host, as GNU {@code cp -a} does as root: {@code user.*}, {@code trusted.*}, {@code security.*}
 * (a file capability among them) and POSIX ACLs, access and default. The image side is set up and
 * read back with {@code debugfs} ({@code ea_set}, {@code ea_list}) and checked with
 * {@code e2fsck -fn}; the host side with {@code setfattr}/{@code getfattr} (package {@code attr})
 * and {@code setfacl}/{@code getfacl} (package {@code acl}). Needs root (trusted.* and security.*
 * on the host); the temporary directory must be on a filesystem with xattrs and ACLs.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "trusted.* and security.* on the host need root; ./run-tests, as root, runs it")
class FsCopyXattrsTest {
    /** A v2 file capability: effective, cap_net_bind_service (10) permitted; as setcap writes it. */
    private static final String CAPABILITY_HEX = "0x0100000200040000000000000000000000000000";

    @TempDir
    Path dir;

    record Tool(int exit, String out) {
    }

    private static Tool tool(Path cwd, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Tool(p.waitFor(), out);
    }

    /** Runs a tool that must succeed; its output. */
    private static String run(String... cmd) throws Exception {
        Tool t = tool(null, cmd);
        assertEquals(0, t.exit(), String.join(" ", cmd) + "\n" + t.out());
        return t.out();
    }

    /** debugfs's stdout only (its banner goes to stderr). */
    private static String debugfs(Path img, String request) throws Exception {
        Process p = new ProcessBuilder("debugfs", "-R", request, img.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor());
        return out;
    }

    private static void debugfsWrite(Path img, String request) throws Exception {
        Tool t = tool(null, "debugfs", "-w", "-R", request, img.toString());
        assertEquals(0, t.exit(), t.out());
        assertTrue(!t.out().contains("rror") && !t.out().contains("not found"), request + ": " + t.out());
    }

    private Path image() throws Exception {
        Path img = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(32L << 20);
        }
        run("mke2fs", "-q", "-F", "-t", "ext4", img.toString());
        return img;
    }

    private static void clean(Path img) throws Exception {
        Tool t = tool(null, "e2fsck", "-fn", img.toString());
        assertEquals(0, t.exit(), "e2fsck -fn " + img + "\n" + t.out());
    }

    /**
     * A POSIX ACL as the kernel's xattr value (version 2, then tag, perm, id): owner rw, group,
     * mask and other r, and {@code perm} for user nobody (65534).
     */
    private static byte[] acl(int ownerPerm, int nobodyPerm, int otherPerm) {
        ByteBuffer b = ByteBuffer.allocate(4 + 5 * 8).order(ByteOrder.LITTLE_ENDIAN).putInt(2);
        int undefined = -1;
        b.putShort((short) 0x01).putShort((short) ownerPerm).putInt(undefined);
        b.putShort((short) 0x02).putShort((short) nobodyPerm).putInt(65534);
        b.putShort((short) 0x04).putShort((short) otherPerm).putInt(undefined);
        b.putShort((short) 0x10).putShort((short) otherPerm).putInt(undefined);
        b.putShort((short) 0x20).putShort((short) otherPerm).putInt(undefined);
        return b.array();
    }

    private Path file(String name, byte[] bytes) throws Exception {
        return Files.write(dir.resolve(name), bytes);
    }

    @Test
    void imageToHostKeepsEveryNamespace() throws Exception {
        Path img = image();
        Path data = Files.writeString(dir.resolve("data"), "data\n");
        run("chmod", "0644", data.toString());
        Path access = file("access.acl", acl(6, 4, 4));
        Path dflt = file("default.acl", acl(7, 5, 5));
        Path cap = file("cap.bin", java.util.HexFormat.of().parseHex(CAPABILITY_HEX.substring(2)));
        debugfsWrite(img, "mkdir d");
        debugfsWrite(img, "write " + data + " d/f");
        debugfsWrite(img, "ea_set d/f user.color blue");
        debugfsWrite(img, "ea_set d/f trusted.t secret");
        debugfsWrite(img, "ea_set d/f security.s label");
        debugfsWrite(img, "ea_set -f " + cap + " d/f security.capability");
        debugfsWrite(img, "ea_set -f " + access + " d/f system.posix_acl_access");
        debugfsWrite(img, "ea_set -f " + dflt + " d system.posix_acl_default");
        debugfsWrite(img, "ea_set d trusted.dir yes");
        clean(img);

        Path out = dir.resolve("out");
        RumpRun r = RumpRun.expect(0, "fs", "cp", "-a", img + ":/d", out.toString());
        assertEquals("", r.err());

        String f = out.resolve("f").toString();
        String attrs = run("getfattr", "-d", "-m", "-", "-h", f);
        assertTrue(attrs.contains("user.color=\"blue\""), attrs);
        assertTrue(attrs.contains("trusted.t=\"secret\""), attrs);
        assertTrue(attrs.contains("security.s=\"label\""), attrs);
        // kept although the owner was set too: a chown after it would have cleared it
        assertTrue(run("getfattr", "-e", "hex", "-n", "security.capability", "-h", f)
                .contains("security.capability=" + CAPABILITY_HEX), "capability lost");
        String facl = run("getfacl", "-c", f);
        assertTrue(facl.contains("user:nobody:r--"), facl);
        assertTrue(facl.contains("mask::r--"), facl);
        assertEquals("data\n", Files.readString(out.resolve("f")));

        String dacl = run("getfacl", "-c", out.toString());
        assertTrue(dacl.contains("default:user:nobody:r-x"), dacl);
        assertTrue(run("getfattr", "-d", "-m", "-", "-h", out.toString()).contains("trusted.dir=\"yes\""));
        assertEquals("drwxr-xr-x", mode(out));
    }

    /**
     * As GNU cp: a name the host has no place for (EOPNOTSUPP: {@code system.foo}) is left behind
     * silently; a value the host refuses otherwise (EINVAL: a 5-byte file capability) is reported,
     * the copy goes on and the exit code is 1.
     */
    @Test
    void namesTheHostRefusesAreSkippedAndOtherFailuresReported() throws Exception {
        Path img = image();
        Path data = Files.writeString(dir.resolve("data"), "data\n");
        Path shortCap = file("short.bin", "short".getBytes(StandardCharsets.US_ASCII));
        debugfsWrite(img, "write " + data + " f");
        debugfsWrite(img, "ea_set f system.foo bar");
        debugfsWrite(img, "write " + data + " g");
        debugfsWrite(img, "ea_set -f " + shortCap + " g security.capability");
        debugfsWrite(img, "ea_set g user.kept yes");
        Path out = Files.createDirectories(dir.resolve("out"));

        RumpRun ok = RumpRun.expect(0, "fs", "cp", "-a", img + ":/f", out.toString());
        assertEquals("", ok.err());
        assertEquals("data\n", Files.readString(out.resolve("f")));

        RumpRun bad = RumpRun.expect(1, "fs", "cp", "-a", img + ":/g", out.toString());
        assertEquals("rump: " + out.resolve("g") + ": setting security.capability: Invalid argument (EINVAL)\n", bad.err());
        assertTrue(run("getfattr", "-d", "-m", "-", "-h", out.resolve("g").toString()).contains("user.kept=\"yes\""));
        assertEquals("data\n", Files.readString(out.resolve("g")));
    }

    private static String mode(Path p) throws Exception {
        return "d" + java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void hostToImageKeepsEveryNamespaceAndBackAgain() throws Exception {
        Path img = image();
        Path src = Files.createDirectories(dir.resolve("src"));
        Path f = Files.writeString(src.resolve("f"), "host\n");
        Files.createSymbolicLink(src.resolve("link"), Path.of("f"));
        run("chmod", "0640", f.toString());
        run("setfattr", "-n", "user.z", "-v", "uval", f.toString());
        run("setfattr", "-n", "trusted.x", "-v", "tval", f.toString());
        run("setfattr", "-n", "security.y", "-v", "sval", f.toString());
        run("setfattr", "-n", "security.capability", "-v", CAPABILITY_HEX, f.toString());
        run("setfacl", "-m", "u:nobody:r", f.toString());
        run("setfacl", "-d", "-m", "u:nobody:rx", src.toString());
        run("setfattr", "-n", "trusted.dir", "-v", "yes", src.toString());

        RumpRun r = RumpRun.expect(0, "fs", "cp", "-a", src.toString(), img + ":/dst");
        assertEquals("", r.err());
        clean(img);

        String list = debugfs(img, "ea_list /dst/f");
        assertTrue(list.contains("user.z (4) = \"uval\""), list);
        assertTrue(list.contains("trusted.x (4) = \"tval\""), list);
        assertTrue(list.contains("security.y (4) = \"sval\""), list);
        assertTrue(list.contains("security.capability (20) = 01 00 00 02 00 04 00 00"), list);
        // ext4's own ACL form (version 1, short entries): owner rw, nobody (0xfffe) r, group r, mask r, other ---
        assertTrue(list.contains("system.posix_acl_access (28) = 01 00 00 00 01 00 06 00 02 00 04 00 fe ff 00 00"
                + " 04 00 04 00 10 00 04 00 20 00 00 00"), list);
        String dlist = debugfs(img, "ea_list /dst");
        assertTrue(dlist.contains("system.posix_acl_default"), dlist);
        assertTrue(dlist.contains("trusted.dir (3) = \"yes\""), dlist);

        // and out again: the same attributes, ACLs and modes as the source, as getfattr and getfacl list them
        Path back = dir.resolve("back");
        RumpRun r2 = RumpRun.expect(0, "fs", "cp", "-a", img + ":/dst", back.toString());
        assertEquals("", r2.err());
        assertEquals(dump(src), dump(back));
        assertEquals(tool(src, "getfacl", "-R", "-P", ".").out(), tool(back, "getfacl", "-R", "-P", ".").out());
    }

    /** Every attribute of every file under {@code root}, symlinks' own, hex-encoded, relative names. */
    private static String dump(Path root) throws Exception {
        Tool t = tool(root, "getfattr", "-R", "-h", "-d", "-m", "-", "-e", "hex", ".");
        assertEquals(0, t.exit(), t.out());
        assertTrue(t.out().contains("trusted.x"), t.out());
        return t.out();
    }
}
