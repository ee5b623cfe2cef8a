package io.jrump.blk;

/**
 * Where a long operation (a check of a large image or filesystem) has got, for a caller that
 * shows it: called now and then, from the operation's thread, with the work done and the whole,
 * in the operation's own units (which its documentation names). Components report through this
 * and never print; the caller decides whether and how to show it.
 */
@FunctionalInterface
public interface Progress {
    /** Reports nothing. */
    Progress NONE = (done, total) -> { };

    /** {@code done} of {@code total} units are done ({@code 0 <= done <= total}). */
    void at(long done, long total);
}
