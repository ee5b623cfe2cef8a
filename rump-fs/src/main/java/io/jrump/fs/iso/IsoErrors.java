package io.jrump.fs.iso;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/** The errors the reader raises, worded alike. */
final class IsoErrors {
    private IsoErrors() {
    }

    /** A damaged or impossible structure: EUCLEAN, as Linux answers for a corrupt filesystem. */
    static ErrnoException corrupt(String detail) {
        return new ErrnoException(Errno.EUCLEAN, "iso9660: " + detail);
    }

    static ErrnoException readOnly(String op) {
        return new ErrnoException(Errno.EROFS, "iso9660 is read-only: " + op);
    }
}
