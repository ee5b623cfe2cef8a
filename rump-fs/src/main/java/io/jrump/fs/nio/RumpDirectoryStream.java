package io.jrump.fs.nio;

import io.jrump.kernel.sys.DirEntry;
import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The entries of a directory as read when the stream was opened, without {@code .} and
 * {@code ..}, through the filter. One iterator, as the SPI asks; it ends early once the stream
 * is closed. Not thread-safe.
 */
final class RumpDirectoryStream implements DirectoryStream<Path> {
    private final RumpPath dir;
    private final List<DirEntry> entries;
    private final Filter<? super Path> filter;
    private boolean open = true;
    private boolean iterated;

    RumpDirectoryStream(RumpPath dir, List<DirEntry> entries, Filter<? super Path> filter) {
        this.dir = dir;
        this.entries = entries;
        this.filter = filter;
    }

    @Override
    public Iterator<Path> iterator() {
        if (!open) {
            throw new IllegalStateException("directory stream is closed");
        }
        if (iterated) {
            throw new IllegalStateException("iterator already obtained");
        }
        iterated = true;
        return new Iterator<>() {
            private int next;
            private Path ahead;

            @Override
            public boolean hasNext() {
                while (ahead == null && open && next < entries.size()) {
                    String name = entries.get(next++).name();
                    if (name.equals(".") || name.equals("..")) {
                        continue;
                    }
                    Path p = dir.resolve(name);
                    try {
                        if (filter == null || filter.accept(p)) {
                            ahead = p;
                        }
                    } catch (IOException e) {
                        throw new DirectoryIteratorException(e);
                    }
                }
                return ahead != null;
            }

            @Override
            public Path next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Path p = ahead;
                ahead = null;
                return p;
            }
        };
    }

    @Override
    public void close() {
        open = false;
    }
}
