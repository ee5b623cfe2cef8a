package io.jrump.fs.iso;

import io.jrump.kernel.sys.Attributes;
import java.util.List;
import java.util.Map;

/**
 * A file, directory, link or device as the mount knows it: its attributes, where its data lies
 * (one or more extents, byte offsets on the device), and for a directory its parent and, once
 * read, its entries.
 */
final class IsoNode {
    final long ino;
    final Attributes attributes;
    final long[] extentStart;   // byte offset on the device of each extent's data
    final long[] extentLength;  // bytes in each extent
    final String link;          // a symlink's target, else null
    final String unreadable;    // why the data cannot be read (interleaved, zisofs), else null
    long parent;                // a directory's ".." inode
    List<Map.Entry<String, IsoNode>> entries; // a directory's entries once read, in directory order
    Map<String, IsoNode> byName;

    IsoNode(long ino, Attributes attributes, long[] extentStart, long[] extentLength, String link, String unreadable,
            long parent) {
        this.ino = ino;
        this.attributes = attributes;
        this.extentStart = extentStart;
        this.extentLength = extentLength;
        this.link = link;
        this.unreadable = unreadable;
        this.parent = parent;
    }

    boolean isDirectory() {
        return attributes.isDirectory();
    }
}
