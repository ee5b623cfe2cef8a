package io.jrump.kernel.sys;

/** Who makes a call: a user, a primary group and supplementary groups; {@link #ROOT} by default. Immutable. */
public record Credentials(long uid, long gid, long[] groups) {
    public static final Credentials ROOT = new Credentials(0, 0, new long[0]);

    public Credentials {
        groups = groups.clone();
    }

    @Override
    public long[] groups() {
        return groups.clone();
    }

    /** Whether {@code g} is the primary group or a supplementary one. */
    public boolean inGroup(long g) {
        if (g == gid) {
            return true;
        }
        for (long x : groups) {
            if (x == g) {
                return true;
            }
        }
        return false;
    }
}
