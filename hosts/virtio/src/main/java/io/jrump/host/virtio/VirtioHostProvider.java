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
        return "virtio host: the linux host plus virtio devices driven by jrump's own driver over vhost-user";
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
                "block, nic, fuse ...   every name of the linux host");
    }
}
