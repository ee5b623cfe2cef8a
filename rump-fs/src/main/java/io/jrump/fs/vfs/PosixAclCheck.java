package io.jrump.fs.vfs;

import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.Credentials;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The POSIX.1e access check against an access ACL in the caller's form (version 2, 8-byte
 * entries tag, perm, id), as Linux's posix_acl_permission: the owner entry for the owner; a
 * named user's entry, masked; else every group entry that matches the caller (owning group and
 * named groups, masked) — one granting all is enough, matching any without granting denies;
 * else the other entry. A malformed ACL falls back to the mode bits.
 */
final class PosixAclCheck {
    private static final int USER_OBJ = 0x01;
    private static final int USER = 0x02;
    private static final int GROUP_OBJ = 0x04;
    private static final int GROUP = 0x08;
    private static final int MASK = 0x10;
    private static final int OTHER = 0x20;

    private PosixAclCheck() {
    }

    private static boolean grants(int perm, int want) {
        return (perm & want & 7) == (want & 7);
    }

    static boolean permits(byte[] acl, Attributes a, Credentials c, int want) {
        ByteBuffer b = ByteBuffer.wrap(acl).order(ByteOrder.LITTLE_ENDIAN);
        if (acl.length < 4 || (acl.length - 4) % 8 != 0 || b.getInt(0) != 2) {
            int bits = c.uid() == a.uid() ? a.mode() >> 6 : c.inGroup(a.gid()) ? a.mode() >> 3 : a.mode();
            return grants(bits, want);
        }
        int mask = 7;
        int other = 0;
        for (int at = 4; at < acl.length; at += 8) {
            int tag = b.getShort(at) & 0xffff;
            if (tag == MASK) {
                mask = b.getShort(at + 2) & 7;
            } else if (tag == OTHER) {
                other = b.getShort(at + 2) & 7;
            }
        }
        for (int at = 4; at < acl.length; at += 8) {
            int tag = b.getShort(at) & 0xffff;
            int perm = b.getShort(at + 2) & 7;
            long id = Integer.toUnsignedLong(b.getInt(at + 4));
            if (tag == USER_OBJ && c.uid() == a.uid()) {
                return grants(perm, want);
            }
            if (tag == USER && c.uid() == id && c.uid() != a.uid()) {
                return grants(perm & mask, want);
            }
        }
        boolean groupMatched = false;
        for (int at = 4; at < acl.length; at += 8) {
            int tag = b.getShort(at) & 0xffff;
            int perm = b.getShort(at + 2) & 7;
            long id = Integer.toUnsignedLong(b.getInt(at + 4));
            if ((tag == GROUP_OBJ && c.inGroup(a.gid())) || (tag == GROUP && c.inGroup(id))) {
                groupMatched = true;
                if (grants(perm & mask, want)) {
                    return true;
                }
            }
        }
        return !groupMatched && grants(other, want);
    }
}
