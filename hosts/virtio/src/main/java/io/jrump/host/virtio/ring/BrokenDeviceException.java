package io.jrump.host.virtio.ring;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/**
 * The device broke the virtio contract: a used element naming a descriptor that is not in flight,
 * a used length beyond the buffers offered, a used index that runs ahead of what was made
 * available, configuration that changed under the driver. Always {@link Errno#EIO}: the device is
 * marked broken and every request on it fails from then on (virtio 1.2, 2.1.1: the driver may set
 * {@code DEVICE_NEEDS_RESET} / stop using it).
 */
public final class BrokenDeviceException extends ErrnoException {
    private static final long serialVersionUID = 1L;

    public BrokenDeviceException(String message) {
        super(Errno.EIO, message);
    }
}
