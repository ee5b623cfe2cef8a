package io.jrump.cli;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.linux.LinuxHost;
import io.jrump.hypercall.Hypercalls;

/**
 * The host the image commands open disks on: the Linux host where it can run, so that block
 * devices ({@code /dev/sdb}, {@code /dev/loop0}) open as well as image files; the JVM host
 * elsewhere. Both open regular files the same way (the Linux host hands them to its JVM host).
 */
final class ImageHosts {
    private ImageHosts() {
    }

    static Hypercalls create(String name) {
        try {
            if (LinuxHost.unavailableReason().isEmpty()) {
                return LinuxHost.create(name);
            }
        } catch (LinkageError e) {
            // JNA cannot load here: image files still open through the JVM host
        }
        return JvmHost.create(name);
    }
}
