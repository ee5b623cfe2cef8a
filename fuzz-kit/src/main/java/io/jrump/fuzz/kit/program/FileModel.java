package io.jrump.fuzz.kit.program;

import io.jrump.hypercall.Errno;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What POSIX says the tree holds after the calls so far: paths to nodes (files with their bytes,
 * directories), and the states since the last commit point (fsync, sync, umount, mount) that a
 * power cut may leave on the disk. Hard links and symlinks are not in the program format, so each
 * node has one name (or none, while an unlinked file is still open).
 */
final class FileModel {
    /** One inode. Its {@code data} array is never changed in place (remembered states share it). */
    static final class Node {
        final char type; // 'f' or 'd'
        byte[] data = new byte[0];
        /** Written, truncated or created since the last commit point: its bytes on disk are not known after a cut. */
        boolean dirty;

        Node(char type) {
            this.type = type;
        }
    }

    /** A state a power cut may leave: the tree, and which live node each copied node stands for. */
    record State(TreeMap<String, Node> tree, IdentityHashMap<Node, Node> liveOf) {
    }

    TreeMap<String, Node> tree = new TreeMap<>();
    /** The states since the last commit point, oldest (the commit point itself) first. */
    final List<State> sinceCommit = new ArrayList<>();

    FileModel() {
        tree.put("/", new Node('d'));
        tree.put("/lost+found", new Node('d'));
    }

    /** A commit point: the present state is durable, nothing is dirty, older states cannot come back. */
    void commit() {
        for (Node n : tree.values()) {
            n.dirty = false;
        }
        sinceCommit.clear();
        remember();
    }

    /** Adds the present state to those a power cut may leave. */
    void remember() {
        TreeMap<String, Node> copy = new TreeMap<>();
        IdentityHashMap<Node, Node> liveOf = new IdentityHashMap<>();
        Map<Node, Node> copies = new IdentityHashMap<>();
        for (Map.Entry<String, Node> e : tree.entrySet()) {
            Node c = copies.computeIfAbsent(e.getValue(), n -> {
                Node k = new Node(n.type);
                k.data = n.data; // shared: a node's array is replaced, never changed in place
                return k;
            });
            copy.put(e.getKey(), c);
            liveOf.put(c, e.getValue());
        }
        sinceCommit.add(new State(copy, liveOf));
    }

    static String parentOf(String p) {
        int i = p.lastIndexOf('/');
        return i == 0 ? "/" : p.substring(0, i);
    }

    /** ENOENT or ENOTDIR when a directory on the way to {@code p} is missing or is a file, else null. */
    Errno parentError(String p) {
        String at = "";
        for (String part : parentOf(p).substring(1).split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            at = at + "/" + part;
            Node n = tree.get(at);
            if (n == null) {
                return Errno.ENOENT;
            }
            if (n.type == 'f') {
                return Errno.ENOTDIR;
            }
        }
        return null;
    }

    boolean hasChildren(String dir) {
        String prefix = dir.equals("/") ? "/" : dir + "/";
        String next = tree.higherKey(prefix);
        return next != null && next.startsWith(prefix);
    }

    /** Writes {@code bytes} at {@code offset}, growing the file. */
    static void write(Node n, byte[] bytes, long offset) {
        if (bytes.length == 0) {
            return;
        }
        int end = (int) offset + bytes.length;
        byte[] d = Arrays.copyOf(n.data, Math.max(n.data.length, end)); // a new array: states share the old one
        System.arraycopy(bytes, 0, d, (int) offset, bytes.length);
        n.data = d;
        n.dirty = true;
    }

    static void truncate(Node n, long length) {
        n.data = Arrays.copyOf(n.data, (int) length);
        n.dirty = true;
    }

    /** The rename's errno as Linux orders its checks, or null for success. */
    Errno renameError(String from, String to) {
        Errno e = parentError(from);
        if (e == null) {
            e = parentError(to);
        }
        Node a = tree.get(from);
        Node b = tree.get(to);
        if (e == null && a == null) {
            e = Errno.ENOENT;
        }
        if (e != null) {
            return e;
        }
        if (a.type == 'd' && (to + "/").startsWith(from + "/") && !to.equals(from)) {
            return Errno.EINVAL;
        }
        if (b == a) {
            return null;
        }
        if (b != null) {
            if (a.type == 'd' && b.type != 'd') {
                return Errno.ENOTDIR;
            } else if (a.type != 'd' && b.type == 'd') {
                return Errno.EISDIR;
            } else if (b.type == 'd' && hasChildren(to)) {
                return Errno.ENOTEMPTY;
            }
        }
        if (a.type == 'd' && (from + "/").startsWith(to + "/")) {
            return Errno.ENOTEMPTY;
        }
        return null;
    }

    /** Applies a successful rename. */
    void rename(String from, String to) {
        if (from.equals(to)) {
            return;
        }
        TreeMap<String, Node> moved = new TreeMap<>();
        for (String k : new ArrayList<>(tree.keySet())) {
            if (k.equals(from) || k.startsWith(from + "/")) {
                moved.put(to + k.substring(from.length()), tree.remove(k));
            }
        }
        tree.remove(to);
        tree.putAll(moved);
    }
}
