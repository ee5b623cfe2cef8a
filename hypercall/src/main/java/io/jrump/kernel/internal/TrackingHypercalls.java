package io.jrump.kernel.internal;

import io.jrump.hypercall.BlockDevices;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.NetworkInterfaces;
import io.jrump.hypercall.ForwardingHostNic;
import io.jrump.hypercall.ForwardingHypercalls;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The host as a kernel's components see it: every call goes straight to the real host, but the
 * devices opened through it are remembered so that the kernel's shutdown can close what the
 * components left open. Thread-safe; the lock guards only the set of open devices.
 */
public final class TrackingHypercalls extends ForwardingHypercalls {
    private final Set<Runnable> openDevices = new LinkedHashSet<>();
    private boolean shut;

    private final BlockDevices blockDevices = new BlockDevices() {
        @Override
        public HostBlockDevice open(String name, OpenMode mode) throws ErrnoException {
            checkOpen();
            return track(host.blockDevices().open(name, mode));
        }

        @Override
        public HostBlockDevice create(String name, long size) throws ErrnoException {
            checkOpen();
            return track(host.blockDevices().create(name, size));
        }
    };

    private final NetworkInterfaces networkInterfaces;

    public TrackingHypercalls(Hypercalls host) {
        super(host);
        this.networkInterfaces = (name, options, receiver) -> {
            checkOpen();
            return track(host.networkInterfaces().open(name, options, receiver));
        };
    }

    /** How many devices the components hold open. */
    public synchronized int openDeviceCount() {
        return openDevices.size();
    }

    /** Closes every device still open and refuses new opens. The host itself stays open. */
    public void closeDevices() {
        List<Runnable> closers;
        synchronized (this) {
            shut = true;
            closers = new ArrayList<>(openDevices);
            openDevices.clear();
        }
        for (int i = closers.size() - 1; i >= 0; i--) {
            closers.get(i).run();
        }
    }

    private synchronized void checkOpen() throws ErrnoException {
        if (shut) {
            throw new ErrnoException(Errno.ESHUTDOWN, "kernel on " + host.name() + " is shut down");
        }
    }

    private synchronized void add(Runnable closer) {
        openDevices.add(closer);
    }

    private synchronized void remove(Runnable closer) {
        openDevices.remove(closer);
    }

    private HostBlockDevice track(HostBlockDevice dev) {
        TrackedBlockDevice t = new TrackedBlockDevice(dev);
        add(t.closer);
        return t;
    }

    private HostNic track(HostNic nic) {
        TrackedNic t = new TrackedNic(nic);
        add(t.closer);
        return t;
    }

    @Override
    public BlockDevices blockDevices() {
        return blockDevices;
    }

    @Override
    public NetworkInterfaces networkInterfaces() {
        return networkInterfaces;
    }

    /** Components do not close the host; the kernel does. This closes their devices only. */
    @Override
    public void close() {
        closeDevices();
    }

    private final class TrackedBlockDevice implements HostBlockDevice {
        private final HostBlockDevice dev;
        private final Runnable closer;

        TrackedBlockDevice(HostBlockDevice dev) {
            this.dev = dev;
            this.closer = dev::close;
        }

        @Override
        public String name() {
            return dev.name();
        }

        @Override
        public long size() {
            return dev.size();
        }

        @Override
        public int sectorSize() {
            return dev.sectorSize();
        }

        @Override
        public boolean isReadOnly() {
            return dev.isReadOnly();
        }

        @Override
        public boolean isGrowable() {
            return dev.isGrowable();
        }

        @Override
        public void read(long offset, ByteBuffer dst, IoCompletion completion) {
            dev.read(offset, dst, completion);
        }

        @Override
        public void write(long offset, ByteBuffer src, IoCompletion completion) {
            dev.write(offset, src, completion);
        }

        @Override
        public void flush(IoCompletion completion) {
            dev.flush(completion);
        }

        @Override
        public void discard(long offset, long length, IoCompletion completion) {
            dev.discard(offset, length, completion);
        }

        @Override
        public void close() {
            remove(closer);
            dev.close();
        }
    }

    private final class TrackedNic extends ForwardingHostNic {
        private final Runnable closer;

        TrackedNic(HostNic nic) {
            super(nic);
            this.closer = nic::close;
        }

        @Override
        public void close() {
            remove(closer);
            nic.close();
        }
    }
}
