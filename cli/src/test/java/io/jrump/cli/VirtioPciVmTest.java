package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The virtio host on virtio-pci, inside a VM ({@link TcgVm}: QEMU with TCG, Debian's kernel, this
 * machine's root over 9p): a virtio-blk-pci disk holding an ext4 image made by {@code mke2fs -d}
 * and a virtio-net-pci NIC on a TAP that the test moves into a namespace of its own. In the guest
 * both functions are bound to vfio-pci and {@code rump} drives them with {@code --nic pci:…} and
 * {@code pci:…} image names: {@code rump net serve} answers ping and sends 256 MiB to curl on the
 * host byte-exact; {@code rump fs ls} and {@code rump fs cp} read the ext4 disk as debugfs would.
 * One VM boot for the class; TCG makes the guest's JVM slow, so the class takes minutes.
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES)
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root (a TAP, a network namespace)")
class VirtioPciVmTest {
    private static final String OURS = "198.18.0.2";

    @TempDir
    static Path dir;

    private static Path work;
    private static Path src;
    private static String ns;
    private static String ping;
    private static boolean fetchedByteExact;
    private static String consoleTail;

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(600, TimeUnit.SECONDS), "timed out: " + String.join(" ", cmd));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + "\n" + out);
        return out;
    }

    private static boolean quietly(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    }



    @BeforeAll
    static void bootTheVmServeAndRead() throws Exception {
        Path kernel = TcgVm.kernel();
        work = Files.createDirectories(dir.resolve("work"));
        Path initramfs = dir.resolve("initramfs.cpio");
        TcgVm.initramfs(kernel, initramfs);
        src = dir.resolve("src");
        Files.createDirectories(src.resolve("sub"));
        Files.writeString(src.resolve("hello.txt"), "hello over virtio-pci\n");
        TransferFiles.randomFile(src.resolve("sub/big.bin"), 3_000_000, 7);
        Path disk = dir.resolve("disk.img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-d", src.toString(), disk.toString(), "64M");
        Files.createDirectories(work.resolve("www"));
        TransferFiles.randomFile(work.resolve("www/big"), 256L << 20, 1);
        Files.writeString(work.resolve("cp"), TcgVm.classPath());
        Files.writeString(work.resolve("guest.sh"), """
                for a in 0000:00:05.0 0000:00:06.0; do
                  echo vfio-pci > /sys/bus/pci/devices/$a/driver_override
                  [ -e /sys/bus/pci/devices/$a/driver ] && echo $a > /sys/bus/pci/devices/$a/driver/unbind
                  echo $a > /sys/bus/pci/drivers_probe
                done
                R="timeout 900 java -XX:-UsePerfData -Djava.io.tmpdir=/run -cp $(cat /mnt/cp) io.jrump.cli.Rump"
                $R net serve --nic pci:0000:00:06.0 --addr 198.18.0.2/24 --http /mnt/www --port 8080 \\
                    --requests 1 > /mnt/serve.out 2>&1; echo $? > /mnt/serve.rc
                $R fs ls -l pci:0000:00:05.0:/sub > /mnt/ls.out 2>&1; echo $? > /mnt/ls.rc
                $R fs cp pci:0000:00:05.0:/sub/big.bin /mnt/big.got > /mnt/cp.out 2>&1; echo $? > /mnt/cp.rc
                echo o > /proc/sysrq-trigger
                """);
        String id = Long.toHexString(ProcessHandle.current().pid() ^ System.nanoTime()).substring(0, 6);
        ns = "jrvm-" + id;
        String tap = "jrvm" + id;
        run("ip", "netns", "add", ns);
        run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
        List<String> devices = List.of(
                "-drive", "if=none,id=d0,file=" + disk + ",format=raw",
                "-device", "virtio-blk-pci,drive=d0,iommu_platform=on,disable-legacy=on,addr=05.0",
                "-netdev", "tap,id=n0,ifname=" + tap + ",script=no,downscript=no",
                "-device", "virtio-net-pci,netdev=n0,iommu_platform=on,disable-legacy=on,addr=06.0");
        Path console = dir.resolve("console.log");
        Process vm = new ProcessBuilder(TcgVm.command(kernel, initramfs, work, devices)).redirectErrorStream(true)
                .redirectOutput(console.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(Path.of("/sys/class/net", tap))) {
                assertTrue(vm.isAlive() && System.nanoTime() < deadline, "QEMU made no TAP: " + Files.readString(console));
                Thread.sleep(20);
            }
            run("ip", "link", "set", tap, "netns", ns);
            run("ip", "netns", "exec", ns, "ip", "addr", "add", "198.18.0.1/24", "dev", tap);
            run("ip", "netns", "exec", ns, "ip", "link", "set", tap, "up");
            // The guest boots in seconds; its JVM under TCG takes a minute or so to serve.
            deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(8);
            while (!quietly("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", OURS)) {
                assertTrue(vm.isAlive() && System.nanoTime() < deadline, "no ping answer from the guest:\n"
                        + Files.readString(console) + "\n" + readIfThere(work.resolve("serve.out")));
            }
            ping = run("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.3", "-W", "5", OURS);
            Path got = dir.resolve("big.got");
            run("ip", "netns", "exec", ns, "curl", "-sS", "--fail", "--max-time", "600", "-o", got.toString(),
                    "http://" + OURS + ":8080/big");
            fetchedByteExact = java.util.Arrays.equals(TransferFiles.sha256(work.resolve("www/big")), TransferFiles.sha256(got));
            Files.delete(got);
            assertTrue(vm.waitFor(10, TimeUnit.MINUTES), "the guest did not power off");
        } finally {
            vm.destroyForcibly();
            vm.waitFor(30, TimeUnit.SECONDS);
            List<String> lines = Files.readAllLines(console, StandardCharsets.ISO_8859_1);
            consoleTail = String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        }
    }

    private static String readIfThere(Path f) throws IOException {
        return Files.exists(f) ? Files.readString(f) : "";
    }

    @AfterAll
    static void deleteTheNamespace() throws Exception {
        if (ns != null) {
            quietly("ip", "netns", "delete", ns);
        }
    }

    private static String result(String step) throws IOException {
        return readIfThere(work.resolve(step + ".rc")).strip();
    }

    @Test
    void netServeOverVirtioNetPciAnswersPingAndSends256MibByteExact() throws Exception {
        assertTrue(ping.contains("3 received"), ping);
        assertTrue(fetchedByteExact, "256 MiB through curl from the guest's rump net serve");
        assertEquals("0", result("serve"), readIfThere(work.resolve("serve.out")) + "\n" + consoleTail);
        assertTrue(readIfThere(work.resolve("serve.out")).contains("pci:0000:00:06.0"));
    }

    @Test
    void fsReadsTheExt4DiskOverVirtioBlkPci() throws Exception {
        assertEquals("0", result("ls"), readIfThere(work.resolve("ls.out")) + "\n" + consoleTail);
        assertTrue(readIfThere(work.resolve("ls.out")).contains("big.bin"), readIfThere(work.resolve("ls.out")));
        assertEquals("0", result("cp"), readIfThere(work.resolve("cp.out")) + "\n" + consoleTail);
        assertArrayEquals(Files.readAllBytes(src.resolve("sub/big.bin")), Files.readAllBytes(work.resolve("big.got")),
                "what rump fs cp read over virtio-pci is what mke2fs -d put there");
    }
}
