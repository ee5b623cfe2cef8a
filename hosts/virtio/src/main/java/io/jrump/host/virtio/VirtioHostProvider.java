package io.jrump.host.virtio;

import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** Lists the virtio host for {@code rump hosts}, and makes one for code that finds hosts through ServiceLoader. */
public final class VirtioHostProvider implements HostProvider {
    @Override
    public String name() {
        return "virtio";
    }

    @Override
    public String description() {
        return "virtio host: the linux host plus virtio devices driven by jrump's own driver, over vhost-user or virtio-pci (VFIO)";
    }

    @Override
    public Optional<String> unavailableReason() {
        try {
            return VirtioHost.unavailableReason();
        } catch (LinkageError e) {
            return Optional.of("JNA is missing or broken: " + e);
        }
    }

    @Override
    public Optional<Hypercalls> createDefault(String instanceName) {
        return Optional.of(VirtioHost.create(instanceName));
    }

    @Override
    public List<String> deviceNames() {
        return List.of(
                "block vhost-user:PATH  a virtio-blk device: the vhost-user back-end on the unix socket PATH",
                "                       (e.g. qemu-storage-daemon --export type=vhost-user-blk,addr.path=PATH)",
                "nic   vhost-user:PATH  a virtio-net device: a vhost-user net back-end (DPDK, Open vSwitch) on PATH",
                "block pci:ADDRESS      a virtio-blk PCI function bound to vfio-pci (here: " + pciHere(2) + ")",
                "nic   pci:ADDRESS      a virtio-net PCI function bound to vfio-pci (here: " + pciHere(1) + ")",
                "block, nic, fuse ...   every name of the linux host");
    }

    /** The virtio functions of {@code type} on this machine's PCI bus, and their drivers. */
    static String pciHere(int type) {
        Path bus = Path.of("/sys/bus/pci/devices");
        List<String> found = new ArrayList<>();
        try (Stream<Path> devices = Files.list(bus)) {
            for (Path d : devices.sorted().toList()) {
                String vendor = Files.readString(d.resolve("vendor")).strip();
                String device = Files.readString(d.resolve("device")).strip();
                if (vendor.equals("0x1af4") && Integer.decode(device) == 0x1040 + type) {
                    Path driver = d.resolve("driver");
                    found.add(d.getFileName() + " bound to " + (Files.isSymbolicLink(driver)
                            ? Files.readSymbolicLink(driver).getFileName() : "no driver"));
                }
            }
        } catch (IOException | RuntimeException e) {
            return "cannot list " + bus;
        }
        return found.isEmpty() ? "none" : String.join(", ", found);
    }
}
