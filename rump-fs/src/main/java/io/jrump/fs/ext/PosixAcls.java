package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * POSIX ACLs between the form callers see ({@code system.posix_acl_*} values: version 2, then
 * 8-byte entries tag, perm, id) and the form ext4 stores (version 1, then 4-byte entries for the
 * owner, owning group, mask and other, 8-byte entries for named users and groups).
 */
final class PosixAcls {
    static final int XATTR_VERSION = 2;
    static final int DISK_VERSION = 1;
    static final int USER_OBJ = 0x01;
    static final int USER = 0x02;
    static final int GROUP_OBJ = 0x04;
    static final int GROUP = 0x08;
    static final int MASK = 0x10;
    static final int OTHER = 0x20;

    private PosixAcls() {
    }

    private static boolean named(int tag) {
        return tag == USER || tag == GROUP;
    }

    private static boolean known(int tag) {
        return tag == USER_OBJ || tag == USER || tag == GROUP_OBJ || tag == GROUP || tag == MASK || tag == OTHER;
    }

    /** The stored form of a caller's ACL value; EINVAL for a malformed one, as Linux answers. */
    static byte[] toDisk(byte[] xattr) throws ErrnoException {
        ByteBuffer in = ByteBuffer.wrap(xattr).order(ByteOrder.LITTLE_ENDIAN);
        if (xattr.length < 4 || (xattr.length - 4) % 8 != 0 || in.getInt(0) != XATTR_VERSION) {
            throw new ErrnoException(Errno.EINVAL, "POSIX ACL value of " + xattr.length + " bytes is not version "
                    + XATTR_VERSION + " with 8-byte entries");
        }
        int count = (xattr.length - 4) / 8;
        int size = 4;
        int[] seen = new int[0x21];
        boolean anyNamed = false;
        for (int i = 0; i < count; i++) {
            int tag = in.getShort(4 + 8 * i) & 0xffff;
            int perm = in.getShort(6 + 8 * i) & 0xffff;
            if (!known(tag) || perm > 7) {
                throw new ErrnoException(Errno.EINVAL, "POSIX ACL entry " + i + " has tag 0x" + Integer.toHexString(tag)
                        + ", permissions 0" + Integer.toOctalString(perm));
            }
            seen[tag]++;
            anyNamed |= named(tag);
            size += named(tag) ? 8 : 4;
        }
        if (count > 0 && (seen[USER_OBJ] != 1 || seen[GROUP_OBJ] != 1 || seen[OTHER] != 1 || seen[MASK] > 1
                || (anyNamed && seen[MASK] != 1))) {
            throw new ErrnoException(Errno.EINVAL, "POSIX ACL needs one owner, owning group and other entry, and a mask"
                    + " with named entries");
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(DISK_VERSION);
        for (int i = 0; i < count; i++) {
            int tag = in.getShort(4 + 8 * i) & 0xffff;
            out.putShort((short) tag).putShort(in.getShort(6 + 8 * i));
            if (named(tag)) {
                out.putInt(in.getInt(8 + 8 * i));
            }
        }
        return out.array();
    }

    /** The perm of the first entry with {@code tag} in the caller's form, or -1. */
    private static int perm(byte[] xattr, int tag) {
        ByteBuffer in = ByteBuffer.wrap(xattr).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 4; at + 8 <= xattr.length; at += 8) {
            if ((in.getShort(at) & 0xffff) == tag) {
                return in.getShort(at + 2) & 7;
            }
        }
        return -1;
    }

    /**
     * The permission bits an access ACL (caller's form, validated) gives the mode, as Linux's
     * posix_acl_update_mode: owner from the owner entry, group from the mask (or the owning group
     * without one), other from other.
     */
    static int modeBits(byte[] xattr) {
        int group = perm(xattr, MASK) >= 0 ? perm(xattr, MASK) : perm(xattr, GROUP_OBJ);
        return perm(xattr, USER_OBJ) << 6 | group << 3 | perm(xattr, OTHER);
    }

    /** Whether the ACL says no more than the mode bits do (owner, owning group and other only). */
    static boolean equivalentToMode(byte[] xattr) {
        ByteBuffer in = ByteBuffer.wrap(xattr).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 4; at + 8 <= xattr.length; at += 8) {
            int tag = in.getShort(at) & 0xffff;
            if (tag != USER_OBJ && tag != GROUP_OBJ && tag != OTHER) {
                return false;
            }
        }
        return true;
    }

    /** An access ACL after chmod, as Linux's posix_acl_chmod: owner, mask (or owning group) and other from the mode. */
    static byte[] chmod(byte[] xattr, int mode) {
        ByteBuffer b = ByteBuffer.wrap(xattr.clone()).order(ByteOrder.LITTLE_ENDIAN);
        boolean hasMask = perm(xattr, MASK) >= 0;
        for (int at = 4; at + 8 <= xattr.length; at += 8) {
            int tag = b.getShort(at) & 0xffff;
            if (tag == USER_OBJ) {
                b.putShort(at + 2, (short) (mode >> 6 & 7));
            } else if (tag == MASK || (tag == GROUP_OBJ && !hasMask)) {
                b.putShort(at + 2, (short) (mode >> 3 & 7));
            } else if (tag == OTHER) {
                b.putShort(at + 2, (short) (mode & 7));
            }
        }
        return b.array();
    }

    /** An inherited ACL masked by a creation mode, as Linux's posix_acl_create_masq. */
    static byte[] masked(byte[] xattr, int mode) {
        ByteBuffer b = ByteBuffer.wrap(xattr.clone()).order(ByteOrder.LITTLE_ENDIAN);
        boolean hasMask = perm(xattr, MASK) >= 0;
        for (int at = 4; at + 8 <= xattr.length; at += 8) {
            int tag = b.getShort(at) & 0xffff;
            int p = b.getShort(at + 2) & 7;
            if (tag == USER_OBJ) {
                b.putShort(at + 2, (short) (p & mode >> 6));
            } else if (tag == MASK || (tag == GROUP_OBJ && !hasMask)) {
                b.putShort(at + 2, (short) (p & mode >> 3));
            } else if (tag == OTHER) {
                b.putShort(at + 2, (short) (p & mode));
            }
        }
        return b.array();
    }

    /** The caller's form of a stored ACL; EUCLEAN naming {@code where} for a malformed one. */
    static byte[] fromDisk(byte[] disk, String where) throws ErrnoException {
        ByteBuffer in = ByteBuffer.wrap(disk).order(ByteOrder.LITTLE_ENDIAN);
        if (disk.length < 4 || in.getInt(0) != DISK_VERSION) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": stored POSIX ACL of " + disk.length
                    + " bytes lacks version " + DISK_VERSION);
        }
        ByteBuffer out = ByteBuffer.allocate(4 + 2 * (disk.length - 4)).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(XATTR_VERSION);
        int at = 4;
        while (at < disk.length) {
            if (at + 4 > disk.length) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": stored POSIX ACL entry at byte " + at + " is cut short");
            }
            int tag = in.getShort(at) & 0xffff;
            short perm = in.getShort(at + 2);
            int id = -1;
            if (named(tag)) {
                if (at + 8 > disk.length) {
                    throw new ErrnoException(Errno.EUCLEAN, where + ": stored POSIX ACL entry at byte " + at + " is cut short");
                }
                id = in.getInt(at + 4);
                at += 8;
            } else if (known(tag)) {
                at += 4;
            } else {
                throw new ErrnoException(Errno.EUCLEAN, where + ": stored POSIX ACL entry at byte " + at + " has tag 0x"
                        + Integer.toHexString(tag));
            }
            out.putShort((short) tag).putShort(perm).putInt(id);
        }
        byte[] r = new byte[out.position()];
        out.flip().get(r);
        return r;
    }
}
