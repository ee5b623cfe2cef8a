package io.jrump.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/**
 * A QEMU VM for the virtio-pci tests, the way virtme-ng makes one: Debian's kernel
 * ({@code linux-image-amd64}), an initramfs made here (busybox and the modules for 9p, virtio-pci
 * and VFIO), and this machine's root file system shared read-only over 9p as the guest's root, so
 * the guest runs this build's classes with this machine's JDK. A second 9p share, the work
 * directory, carries the guest's script ({@code guest.sh}) and what it writes back. TCG (no KVM
 * here), a q35 machine with an emulated Intel IOMMU and interrupt remapping, so that VFIO in the
 * guest can hand the virtio-pci functions to jrump's driver.
 */
final class TcgVm {
    /** The modules the guest loads, in order (each after what it depends on). */
    private static final List<String> MODULES = List.of(
            "drivers/virtio/virtio.ko", "drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio_pci_legacy_dev.ko",
            "drivers/virtio/virtio_pci_modern_dev.ko", "drivers/virtio/virtio_pci.ko", "fs/netfs/netfs.ko",
            "fs/fscache/fscache.ko", "net/9p/9pnet.ko", "net/9p/9pnet_virtio.ko", "fs/9p/9p.ko",
            "virt/lib/irqbypass.ko", "drivers/vfio/vfio.ko", "drivers/vfio/vfio_iommu_type1.ko",
            "drivers/vfio/vfio_virqfd.ko", "drivers/vfio/pci/vfio-pci-core.ko", "drivers/vfio/pci/vfio-pci.ko");

    private TcgVm() {
    }

    /** The newest {@code /boot/vmlinuz-*} whose modules are installed. */
    static Path kernel() throws IOException {
        try (Stream<Path> boot = Files.list(Path.of("/boot"))) {
            return boot.filter(p -> p.getFileName().toString().startsWith("vmlinuz-"))
                    .filter(p -> Files.isDirectory(modules(p)))
                    .max(Comparator.comparing(p -> p.getFileName().toString()))
                    .orElseThrow(() -> new IOException("no /boot/vmlinuz-* with its modules: install linux-image-amd64"));
        }
    }

    private static Path modules(Path kernel) {
        return Path.of("/lib/modules", kernel.getFileName().toString().substring("vmlinuz-".length()));
    }

    /** Writes the initramfs (a newc cpio archive) for {@code kernel} to {@code out}. */
    static void initramfs(Path kernel, Path out) throws IOException {
        Path mods = modules(kernel).resolve("kernel");
        StringBuilder init = new StringBuilder("""
                #!/bin/busybox sh
                /bin/busybox --install -s /bin
                export PATH=/bin
                mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
                """);
        try (OutputStream o = Files.newOutputStream(out)) {
            Cpio cpio = new Cpio(o);
            for (String d : List.of("bin", "mods", "proc", "sys", "dev", "newroot")) {
                cpio.directory(d);
            }
            cpio.file("bin/busybox", Files.readAllBytes(Path.of("/bin/busybox")), 0755);
            for (String m : MODULES) {
                String name = Path.of(m).getFileName().toString();
                cpio.file("mods/" + name, Files.readAllBytes(mods.resolve(m)), 0644);
                init.append("insmod /mods/").append(name).append(" || echo \"insmod ").append(name).append(" failed\"\n");
            }
            init.append("""
                    mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /newroot
                    mount -t tmpfs tmpfs /newroot/run
                    mount --move /proc /newroot/proc; mount --move /sys /newroot/sys; mount --move /dev /newroot/dev
                    mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 work /newroot/mnt
                    echo "jrump-guest: up"
                    exec switch_root /newroot /bin/sh /mnt/guest.sh
                    """);
            cpio.file("init", init.toString().getBytes(StandardCharsets.US_ASCII), 0755);
            cpio.trailer();
        }
    }

    /**
     * The command that boots the VM: {@code work} shared as {@code /tmp/work}, {@code extra}
     * devices after the rest. The guest powers off when {@code guest.sh} ends.
     */
    static List<String> command(Path kernel, Path initramfs, Path work, List<String> extra) {
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64", "-machine", "q35,accel=tcg,kernel-irqchip=split",
                "-cpu", "max", "-m", "2048", "-smp", "2", "-nographic", "-no-reboot",
                "-kernel", kernel.toString(), "-initrd", initramfs.toString(),
                "-append", "console=ttyS0 quiet intel_iommu=on panic=-1",
                "-device", "intel-iommu,intremap=on",
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
                "-virtfs", "local,path=" + work + ",mount_tag=work,security_model=none"));
        cmd.addAll(extra);
        return cmd;
    }

    /**
     * This test JVM's class path as plain paths: surefire's booter jar names the real entries in
     * its manifest, and the guest needs the entries themselves (they are on the shared root; the
     * booter jar may be in a /tmp the guest does not see).
     */
    static String classPath() throws IOException {
        Set<String> out = new LinkedHashSet<>();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(e).toAbsolutePath();
            Manifest m = null;
            if (e.endsWith(".jar") && Files.isRegularFile(p)) {
                try (JarFile jar = new JarFile(p.toFile())) {
                    m = jar.getManifest();
                }
            }
            String listed = m == null ? null : m.getMainAttributes().getValue("Class-Path");
            if (listed == null || listed.isBlank()) {
                out.add(p.toString());
                continue;
            }
            for (String u : listed.trim().split("\\s+")) {
                out.add(Path.of(p.getParent().toUri().resolve(URI.create(u))).toString());
            }
        }
        return String.join(":", out);
    }

    /** A newc cpio archive: what the kernel unpacks as its initramfs. */
    private static final class Cpio {
        private final OutputStream out;
        private int ino = 1;

        Cpio(OutputStream out) {
            this.out = out;
        }

        void directory(String name) throws IOException {
            entry(name, 040755, new byte[0]);
        }

        void file(String name, byte[] data, int mode) throws IOException {
            entry(name, 0100000 | mode, data);
        }

        void trailer() throws IOException {
            entry("TRAILER!!!", 0, new byte[0]);
        }

        private void entry(String name, int mode, byte[] data) throws IOException {
            byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
            ByteArrayOutputStream h = new ByteArrayOutputStream();
            h.writeBytes("070701".getBytes(StandardCharsets.US_ASCII));
            for (long field : new long[] {ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, n.length, 0}) {
                h.writeBytes(String.format("%08x", field).getBytes(StandardCharsets.US_ASCII));
            }
            h.writeBytes(n);
            pad(h, h.size());
            out.write(h.toByteArray());
            out.write(data);
            out.write(new byte[(4 - data.length % 4) % 4]);
        }

        private static void pad(ByteArrayOutputStream b, int length) {
            for (int i = length; i % 4 != 0; i++) {
                b.write(0);
            }
        }
    }
}
