package io.jrump.fs.nio;

import io.jrump.kernel.sys.StatVfs;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.FileStoreAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;

/** The one store of a rump filesystem: its sizes come from {@code statvfs}, its type from the mount. Thread-safe. */
final class RumpFileStore extends FileStore {
    private final RumpFileSystem fs;

    RumpFileStore(RumpFileSystem fs) {
        this.fs = fs;
    }

    @Override
    public String name() {
        return fs.image().toString();
    }

    /** {@code ext2}, {@code ext3} or {@code ext4}, as the filesystem names itself. */
    @Override
    public String type() {
        return fs.type();
    }

    @Override
    public boolean isReadOnly() {
        return fs.isReadOnly();
    }

    private StatVfs statvfs() throws IOException {
        return fs.statvfs();
    }

    @Override
    public long getTotalSpace() throws IOException {
        StatVfs s = statvfs();
        return s.blocks() * s.blockSize();
    }

    @Override
    public long getUsableSpace() throws IOException {
        StatVfs s = statvfs();
        return s.availableBlocks() * s.blockSize();
    }

    @Override
    public long getUnallocatedSpace() throws IOException {
        StatVfs s = statvfs();
        return s.freeBlocks() * s.blockSize();
    }

    @Override
    public long getBlockSize() throws IOException {
        return statvfs().blockSize();
    }

    @Override
    public boolean supportsFileAttributeView(Class<? extends FileAttributeView> type) {
        return type == BasicFileAttributeView.class || type == PosixFileAttributeView.class
                || type == FileOwnerAttributeView.class
                || type == java.nio.file.attribute.UserDefinedFileAttributeView.class && fs.type().startsWith("ext");
    }

    @Override
    public boolean supportsFileAttributeView(String name) {
        return RumpFileSystem.VIEWS.contains(name) || name.equals("user") && fs.type().startsWith("ext");
    }

    @Override
    public <V extends FileStoreAttributeView> V getFileStoreAttributeView(Class<V> type) {
        return null;
    }

    @Override
    public Object getAttribute(String attribute) throws IOException {
        return switch (attribute) {
            case "totalSpace" -> getTotalSpace();
            case "usableSpace" -> getUsableSpace();
            case "unallocatedSpace" -> getUnallocatedSpace();
            default -> throw new UnsupportedOperationException("'" + attribute + "' not recognized");
        };
    }

    @Override
    public String toString() {
        return "/ (" + name() + ")";
    }
}
