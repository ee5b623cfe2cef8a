package io.jrump.host.virtio;

import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import java.util.List;
import java.util.Optional;

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
        java.nio.file.Path bus = java.nio.file.Path.of("/sys/bus/pci/devices");
        java.util.List<String> found = new java.util.ArrayList<>();
        try (java.util.stream.Stream<java.nio.file.Path> devices = java.nio.file.Files.list(bus)) {
            for (java.nio.file.Path d : devices.sorted().toList()) {
                String vendor = java.nio.file.Files.readString(d.resolve("vendor")).strip();
                String device = java.nio.file.Files.readString(d.resolve("device")).strip();
                if (vendor.equals("0x1af4") && Integer.decode(device) == 0x1040 + type) {
                    java.nio.file.Path driver = d.resolve("driver");
                    found.add(d.getFileName() + " bound to " + (java.nio.file.Files.isSymbolicLink(driver)
                            ? java.nio.file.Files.readSymbolicLink(driver).getFileName() : "no driver"));
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            return "cannot list " + bus;
        }
        return found.isEmpty() ? "none" : String.join(", ", found);
    }
}
