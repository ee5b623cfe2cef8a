package io.jrump.fs.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code user.} extended attributes of one path, named without their prefix as the JDK's
 * view does on Linux; calls go to the VFS's getxattr, setxattr, listxattr and removexattr, so
 * the filesystem's errors (ENODATA, ENOSPC, EOPNOTSUPP) arrive as {@link FileSystemException}s.
 * No I/O until asked. Thread-safe.
 */
final class RumpUserAttributeView implements UserDefinedFileAttributeView {
    private static final String PREFIX = "user.";
    private final RumpPath path;
    private final boolean follow;

    RumpUserAttributeView(RumpPath path, boolean follow) {
        this.path = path;
        this.follow = follow;
    }

    @Override
    public String name() {
        return "user";
    }

    @Override
    public List<String> list() throws IOException {
        List<String> all = path.getFileSystem().call(path, null, s -> s.listxattr(path.vfsPath(), follow));
        List<String> out = new ArrayList<>();
        for (String n : all) {
            if (n.startsWith(PREFIX)) {
                out.add(n.substring(PREFIX.length()));
            }
        }
        return out;
    }

    private byte[] value(String name) throws IOException {
        return path.getFileSystem().call(path, null, s -> s.getxattr(path.vfsPath(), PREFIX + name, follow));
    }

    @Override
    public int size(String name) throws IOException {
        return value(name).length;
    }

    /** Copies the whole value into {@code dst}; an IOException (ERANGE) when it has too little room, as on Linux. */
    @Override
    public int read(String name, ByteBuffer dst) throws IOException {
        byte[] v = value(name);
        if (dst.remaining() < v.length) {
            throw new FileSystemException(path.toString(), null, "user." + name + ": value of " + v.length
                    + " bytes, buffer of " + dst.remaining() + " (ERANGE)");
        }
        dst.put(v);
        return v.length;
    }

    @Override
    public int write(String name, ByteBuffer src) throws IOException {
        byte[] v = new byte[src.remaining()];
        src.duplicate().get(v);
        path.getFileSystem().call(path, null, s -> {
            s.setxattr(path.vfsPath(), PREFIX + name, v, 0, follow);
            return null;
        });
        src.position(src.limit());
        return v.length;
    }

    @Override
    public void delete(String name) throws IOException {
        path.getFileSystem().call(path, null, s -> {
            s.removexattr(path.vfsPath(), PREFIX + name, follow);
            return null;
        });
    }
}
