package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtTools.run;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Filesystems whose journal is on another device (mke2fs -J device=, which needs a block device:
 * a loop device here): the journal device itself is refused by name; a filesystem using one is
 * written when its journal is clean (in place, as without a journal) and refused when it needs
 * recovery; e2fsck, given the journal device, agrees it is clean.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (losetup); ./run-tests, as root, runs it")
class ExternalJournalTest {
    @TempDir
    Path dir;

    private final JvmHost host = JvmHost.create("ext-external-journal");
    private String loop;

    @AfterEach
    void close() throws Exception {
        if (loop != null) {
            run("losetup", "-d", loop);
        }
        host.close();
    }

    private ExtVfs mount(Path img) throws Exception {
        return ExtTools.mountReadWrite(host, img);
    }

    @Test
    void aFilesystemWithAnExternalJournalIsWrittenOnlyWhenTheJournalIsClean() throws Exception {
        Path journal = dir.resolve("journal.img");
        Path img = dir.resolve("fs.img");
        run("mke2fs", "-q", "-F", "-b", "1024", "-O", "journal_dev", journal.toString(), "8M");
        ErrnoException notFs = assertThrows(ErrnoException.class, () -> mount(journal).close());
        assertEquals(Errno.EOPNOTSUPP, notFs.errno());
        assertTrue(notFs.getMessage().contains("external journal device"), notFs.getMessage());

        loop = run("losetup", "-f", "--show", journal.toString()).strip();
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-J", "device=" + loop, img.toString(), "32M");
        try (ExtVfs fs = mount(img)) {
            assertFalse(fs.isReadOnly());
            writeFile(fs, "/written", new byte[50_000]);
        }
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "e2fsck", "-fn", "-j", loop, img.toString()), out.toString());

        run("debugfs", "-w", "-R", "feature needs_recovery", img.toString());
        ErrnoException e = assertThrows(ErrnoException.class, () -> mount(img).close());
        assertEquals(Errno.EOPNOTSUPP, e.errno());
        assertTrue(e.getMessage().contains("external journal") && e.getMessage().contains("e2fsck -j"), e.getMessage());
    }
}
