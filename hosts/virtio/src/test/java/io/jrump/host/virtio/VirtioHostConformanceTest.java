package io.jrump.host.virtio;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.host.linux.LinuxHost;
import io.jrump.hypercall.BlockDevices;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.ForwardingHypercalls;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.conformance.HostConformanceSuite;
import io.jrump.hypercall.conformance.ForwardingHostFixture;
import io.jrump.hypercall.conformance.HostFixture;
import io.jrump.hypercall.conformance.RealTimeFixture;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The virtio host against the conformance kit, every block device a virtio-blk device over
 * vhost-user: creating one makes a sparse raw image and starts a {@code qemu-storage-daemon}
 * exporting it, so the kit's reads, writes, flushes and discards go through jrump's driver to a
 * back-end nobody here wrote. NICs are the Linux host's in-process switches.
 */
class VirtioHostConformanceTest extends HostConformanceSuite {

    @Override
    protected HostFixture newFixture() throws Exception {
        return new DaemonFixture();
    }

    /** A real-time fixture whose hosts back {@code create} with a storage daemon per device. */
    static final class DaemonFixture extends ForwardingHostFixture {
        private final List<StorageDaemon> daemons;

        DaemonFixture() throws IOException {
            this(new SwitchRegistry(), new CopyOnWriteArrayList<>());
        }

        private DaemonFixture(SwitchRegistry switches, List<StorageDaemon> daemons) throws IOException {
            super(new RealTimeFixture("conformance",
                    name -> new DaemonBackedHost(VirtioHost.over(LinuxHost.over(
                            JvmHost.builder().name(name).switches(switches).build())), daemons),
                    (dir, stem) -> VirtioHost.VHOST_USER_PREFIX + dir.resolve(stem + ".sock")));
            this.daemons = daemons;
        }

        @Override
        public void close() throws IOException {
            try {
                super.close();
            } finally {
                for (StorageDaemon d : daemons) {
                    try {
                        d.close();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }
    }

    /** The virtio host, with {@code create} of a {@code vhost-user:} name starting its back-end first. */
    private static final class DaemonBackedHost extends ForwardingHypercalls {
        private final List<StorageDaemon> daemons;

        DaemonBackedHost(VirtioHost host, List<StorageDaemon> daemons) {
            super(host);
            this.daemons = daemons;
        }

        @Override
        public BlockDevices blockDevices() {
            BlockDevices virtio = super.blockDevices();
            return new BlockDevices() {
                @Override
                public HostBlockDevice open(String name, OpenMode mode) throws ErrnoException {
                    return virtio.open(name, mode);
                }

                @Override
                public HostBlockDevice create(String name, long size) throws ErrnoException {
                    Path socket = Path.of(name.substring(VirtioHost.VHOST_USER_PREFIX.length()));
                    if (size < 0 || Files.exists(socket)) {
                        return virtio.create(name, size);
                    }
                    Path image = Path.of(socket + ".img");
                    try {
                        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                            f.setLength(size);
                        }
                        daemons.add(StorageDaemon.export(image, "raw", socket, true));
                    } catch (IOException e) {
                        throw new ErrnoException(Errno.EIO, "starting qemu-storage-daemon for " + name + ": " + e);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new ErrnoException(Errno.EINTR, "starting qemu-storage-daemon");
                    }
                    return virtio.open(name, OpenMode.READ_WRITE);
                }
            };
        }
    }
}
