package io.jrump.cli;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.linux.LinuxHost;
import io.jrump.host.virtio.VirtioHost;
import io.jrump.hypercall.Hypercalls;

/**
 * The host the image commands open disks on: the virtio host where the Linux host can run, so that
 * block devices ({@code /dev/sdb}, {@code /dev/loop0}) and virtio devices
 * ({@code vhost-user:/run/blk.sock}) open as well as image files; the JVM host elsewhere. All open
 * regular files the same way (each hands them on to the JVM host).
 */
final class ImageHosts {
    private ImageHosts() {
    }

    static Hypercalls create(String name) {
        try {
            if (LinuxHost.unavailableReason().isEmpty()) {
                return VirtioHost.create(name);
            }
        } catch (LinkageError e) {
            // JNA cannot load here: image files still open through the JVM host
        }
        return JvmHost.create(name);
    }
}
