package io.jrump.fuzz.kit.program;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The program text: canonical text prints back byte for byte, and bad input is refused naming its line. */
class ProgramTest {
    private static final String CANONICAL = String.join("\n",
            "# jrump program v1",
            "seed 0x2a",
            "disk d0 ext4 4M",
            "mount(\"d0\", \"/\", \"ext4\", 0)",
            "mkdir(\"/d\", 0755)",
            "r0 = open(\"/d/a\", O_RDWR|O_CREAT|O_EXCL, 0644)",
            "pwrite(r0, bytes(512, 0x41), 4096)",
            "pwrite(r0, hex\"00ff10\", 0)",
            "pread(r0, 100, 0)",
            "ftruncate(r0, 10)",
            "fsync(r0)",
            "stat(\"/d/a\")",
            "rename(\"/d/a\", \"/b\")",
            "unlink(\"/b\")",
            "rmdir(\"/d\")",
            "close(r0)",
            "sync()",
            "powercut()",
            "b: r1 = socket(AF_INET, SOCK_STREAM, 0)",
            "bind(r1, \"0.0.0.0:80\")",
            "listen(r1, 4)",
            "r2 = socket(AF_INET, SOCK_STREAM, 0)",
            "connect(r2, \"198.18.0.2:80\")",
            "sleep(5)",
            "r3 = accept(r1)",
            "send(r2, bytes(0, 0x00))",
            "recv(r3, 65536)",
            "shutdown(r3, SHUT_WR)",
            "link_down(\"lan\")",
            "loss(\"lan\", 10)",
            "link_up(\"lan\")",
            "close(r3)",
            "umount(\"/\")",
            "");

    @Test
    void canonicalTextRoundTripsExactly() throws Exception {
        Program p = Program.parse(CANONICAL);
        assertEquals(CANONICAL, p.text());
        assertEquals(p, Program.parse(p.text()));
        assertEquals(0x2a, p.seed());
        assertEquals(30, p.calls().size());
        Call accept = p.calls().get(21);
        assertEquals("accept", accept.name());
        assertEquals("b", accept.host(), "accept runs where its listener lives");
        assertEquals(List.of(new Call.Resource(1)), accept.args());
    }

    @Test
    void commentsBlankLinesAndOtherSpellingsReadToTheCanonicalForm() throws Exception {
        Program p = Program.parse("# jrump program v1\n# a comment\nseed 42\n\ndisk d0 ext4 4M\r\n"
                + "  r7 =open(\"/a\" ,O_WRONLY|O_CREAT,  0)\na: r8 = socket(AF_INET, SOCK_STREAM, 0)\n");
        assertEquals("# jrump program v1\nseed 0x2a\ndisk d0 ext4 4M\nr7 = open(\"/a\", O_WRONLY|O_CREAT, 0)\n"
                + "r8 = socket(AF_INET, SOCK_STREAM, 0)\n", p.text());
    }

    private static ErrnoException refused(String... lines) {
        return assertThrows(ErrnoException.class, () -> Program.parse(String.join("\n", lines)));
    }

    private static void refusedAt(int line, Errno errno, String words, String... lines) {
        ErrnoException e = refused(lines);
        assertEquals(errno, e.errno(), e.detail());
        assertTrue(e.detail().startsWith("line " + line + ": "), e.detail());
        assertTrue(e.detail().contains(words), e.detail());
    }

    @Test
    void badLinesAreRefusedNamingTheLineAndWhatIsWrong() {
        String h = Program.HEADER;
        refusedAt(1, Errno.EINVAL, "starts with", "jrump program", "seed 1");
        refusedAt(2, Errno.EINVAL, "seed is", h, "seed banana", "disk d0 ext4 4M");
        refusedAt(3, Errno.EINVAL, "4M to 16M", h, "seed 1", "disk d0 ext4 64M");
        refusedAt(3, Errno.EINVAL, "before the calls", h, "seed 1", "sync()");
        refusedAt(4, Errno.ENOSYS, "call execve is not supported", h, "seed 1", "disk d0 ext4 4M", "execve(\"/bin/sh\")");
        refusedAt(4, Errno.EINVAL, "r0 is not defined", h, "seed 1", "disk d0 ext4 4M", "close(r0)");
        refusedAt(5, Errno.EINVAL, "socket descriptor, pwrite takes a file", h, "seed 1", "disk d0 ext4 4M",
                "r0 = socket(AF_INET, SOCK_STREAM, 0)", "pwrite(r0, bytes(1, 0x00), 0)");
        refusedAt(5, Errno.EINVAL, "r0 is defined already", h, "seed 1", "disk d0 ext4 4M",
                "r0 = open(\"/a\", O_RDONLY, 0)", "r0 = open(\"/b\", O_RDONLY, 0)");
        refusedAt(5, Errno.EINVAL, "outside [0, 1048576]", h, "seed 1", "disk d0 ext4 4M",
                "r0 = open(\"/a\", O_RDONLY, 0)", "pwrite(r0, bytes(1, 0x00), 99999999)");
        refusedAt(4, Errno.EINVAL, "not modelled", h, "seed 1", "disk d0 ext4 4M", "r0 = open(\"/a\", O_RDWR|O_APPEND, 0)");
        refusedAt(4, Errno.EINVAL, "names are", h, "seed 1", "disk d0 ext4 4M", "mkdir(\"/a/../b\", 0755)");
        refusedAt(4, Errno.EINVAL, "only SOCK_STREAM", h, "seed 1", "disk d0 ext4 4M", "r0 = socket(AF_INET, SOCK_DGRAM, 0)");
        refusedAt(4, Errno.EINVAL, "returns a descriptor", h, "seed 1", "disk d0 ext4 4M", "open(\"/a\", O_RDONLY, 0)");
        refusedAt(4, Errno.EINVAL, "only socket takes a host prefix", h, "seed 1", "disk d0 ext4 4M", "b: sync()");
        refusedAt(4, Errno.EINVAL, "takes 1 arguments, not 2", h, "seed 1", "disk d0 ext4 4M", "rmdir(\"/a\", \"/b\")");
        refusedAt(4, Errno.EINVAL, "unclosed quote", h, "seed 1", "disk d0 ext4 4M", "rmdir(\"/a)");
        refusedAt(4, Errno.EINVAL, "expected name(arguments)", h, "seed 1", "disk d0 ext4 4M", "rmdir \"/a\"");
        refusedAt(5, Errno.EINVAL, "connect argument 2: an address's numbers", h, "seed 1", "disk d0 ext4 4M",
                "r0 = socket(AF_INET, SOCK_STREAM, 0)", "connect(r0, \"198.18.0.256:80\")");
    }

    @Test
    void sizesAreBounded() {
        StringBuilder many = new StringBuilder(Program.HEADER + "\nseed 1\ndisk d0 ext4 4M\n");
        for (int i = 0; i <= Program.MAX_CALLS; i++) {
            many.append("sync()\n");
        }
        ErrnoException e = refused(many.toString());
        assertTrue(e.detail().contains("more than " + Program.MAX_CALLS + " calls"), e.detail());
        StringBuilder data = new StringBuilder(Program.HEADER + "\nseed 1\ndisk d0 ext4 4M\nr0 = open(\"/a\", O_RDWR, 0)\n");
        for (int i = 0; i < 17; i++) {
            data.append("pwrite(r0, bytes(65536, 0x01), 0)\n");
        }
        e = refused(data.toString());
        assertTrue(e.detail().startsWith("line 21: ") && e.detail().contains("bytes of data"), e.detail());
        e = refused(Program.HEADER + "\n" + "#".repeat(Program.MAX_LINE + 1));
        assertTrue(e.detail().startsWith("line 2: longer than"), e.detail());
        e = refused("x".repeat(Program.MAX_TEXT + 1));
        assertEquals(Errno.EINVAL, e.errno());
    }
}
