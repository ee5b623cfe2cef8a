package io.jrump.fs.nio;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * A path in a {@link RumpFileSystem}: a Unix path string, {@code /}-separated, kept without
 * repeated or trailing slashes. Everything but {@link #toRealPath} is string logic and does no
 * I/O. Relative paths are relative to the root directory. Immutable and thread-safe.
 */
final class RumpPath implements Path {
    private final RumpFileSystem fs;
    private final String path;
    /** Where each name starts in {@link #path}. */
    private volatile int[] offsets;

    RumpPath(RumpFileSystem fs, String path) {
        this.fs = fs;
        this.path = tidy(path);
    }

    private static String tidy(String input) {
        if (input.indexOf('\0') >= 0) {
            throw new InvalidPathException(input, "Nul character not allowed");
        }
        StringBuilder b = new StringBuilder(input.length());
        char prev = 0;
        for (int i = 0; i < input.length(); i++) {
            char c = input.charAt(i);
            if (c == '/' && prev == '/') {
                continue;
            }
            b.append(c);
            prev = c;
        }
        if (b.length() > 1 && b.charAt(b.length() - 1) == '/') {
            b.setLength(b.length() - 1);
        }
        return b.toString();
    }

    private int[] offsets() {
        int[] o = offsets;
        if (o == null) {
            List<Integer> starts = new ArrayList<>();
            for (int i = 0; i < path.length(); i++) {
                if (path.charAt(i) != '/' && (i == 0 || path.charAt(i - 1) == '/')) {
                    starts.add(i);
                }
            }
            if (path.isEmpty()) {
                starts.add(0); // the empty path has one, empty, name
            }
            o = starts.stream().mapToInt(Integer::intValue).toArray();
            offsets = o;
        }
        return o;
    }

    private String name(int i) {
        int[] o = offsets();
        int end = i + 1 < o.length ? o[i + 1] - 1 : path.length();
        return path.substring(o[i], end);
    }

    String string() {
        return path;
    }

    /** The absolute path string the VFS is given. */
    String vfsPath() {
        return isAbsolute() ? path : "/" + path;
    }

    static RumpPath of(Path p) {
        Objects.requireNonNull(p, "path");
        if (!(p instanceof RumpPath)) {
            throw new ProviderMismatchException(p.getClass().getName() + " is not a rump path");
        }
        return (RumpPath) p;
    }

    private RumpPath check(Path other) {
        RumpPath p = of(other);
        if (p.fs != fs) {
            throw new ProviderMismatchException(other + " belongs to another rump filesystem");
        }
        return p;
    }

    @Override
    public RumpFileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return path.startsWith("/");
    }

    @Override
    public Path getRoot() {
        return isAbsolute() ? new RumpPath(fs, "/") : null;
    }

    @Override
    public Path getFileName() {
        if (path.isEmpty()) {
            return this;
        }
        int n = getNameCount();
        return n == 0 ? null : new RumpPath(fs, name(n - 1));
    }

    @Override
    public Path getParent() {
        int n = getNameCount();
        if (n == 0 || path.isEmpty()) {
            return null;
        }
        if (n == 1) {
            return getRoot();
        }
        return new RumpPath(fs, path.substring(0, offsets()[n - 1] - 1));
    }

    @Override
    public int getNameCount() {
        return path.equals("/") ? 0 : offsets().length;
    }

    @Override
    public Path getName(int index) {
        if (index < 0 || index >= getNameCount()) {
            throw new IllegalArgumentException("name index " + index + " of " + getNameCount());
        }
        return new RumpPath(fs, name(index));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        int n = getNameCount();
        if (beginIndex < 0 || beginIndex >= n || endIndex > n || beginIndex >= endIndex) {
            throw new IllegalArgumentException("subpath " + beginIndex + ".." + endIndex + " of " + n + " names");
        }
        return new RumpPath(fs, String.join("/", names().subList(beginIndex, endIndex)));
    }

    private List<String> names() {
        int n = getNameCount();
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(name(i));
        }
        return out;
    }

    private RumpPath build(boolean absolute, List<String> names) {
        return new RumpPath(fs, (absolute ? "/" : "") + String.join("/", names));
    }

    @Override
    public boolean startsWith(Path other) {
        if (!(Objects.requireNonNull(other) instanceof RumpPath o) || o.fs != fs) {
            return false;
        }
        if (o.isAbsolute() != isAbsolute()) {
            return false;
        }
        if (o.path.isEmpty()) {
            return path.isEmpty();
        }
        List<String> mine = names();
        List<String> theirs = o.names();
        return theirs.size() <= mine.size() && mine.subList(0, theirs.size()).equals(theirs);
    }

    @Override
    public boolean endsWith(Path other) {
        if (!(Objects.requireNonNull(other) instanceof RumpPath o) || o.fs != fs) {
            return false;
        }
        if (o.isAbsolute()) {
            return o.path.equals(path);
        }
        if (o.path.isEmpty()) {
            return path.isEmpty();
        }
        List<String> mine = names();
        List<String> theirs = o.names();
        return theirs.size() <= mine.size() && mine.subList(mine.size() - theirs.size(), mine.size()).equals(theirs);
    }

    @Override
    public Path normalize() {
        List<String> out = new ArrayList<>();
        boolean absolute = isAbsolute();
        for (String n : names()) {
            if (n.equals(".") || n.isEmpty()) {
                continue;
            }
            if (n.equals("..")) {
                if (!out.isEmpty() && !out.get(out.size() - 1).equals("..")) {
                    out.remove(out.size() - 1);
                    continue;
                }
                if (absolute) {
                    continue; // "/.." is "/"
                }
            }
            out.add(n);
        }
        return build(absolute, out);
    }

    @Override
    public Path resolve(Path other) {
        RumpPath o = check(other);
        if (o.isAbsolute()) {
            return o;
        }
        if (o.path.isEmpty()) {
            return this;
        }
        if (path.isEmpty()) {
            return o;
        }
        return new RumpPath(fs, path.equals("/") ? "/" + o.path : path + "/" + o.path);
    }

    @Override
    public Path relativize(Path other) {
        RumpPath o = check(other);
        if (o.isAbsolute() != isAbsolute()) {
            throw new IllegalArgumentException("'" + other + "' is not a path of the same type as '" + this + "'");
        }
        if (path.isEmpty()) {
            return o;
        }
        List<String> mine = names();
        List<String> theirs = o.names();
        int common = 0;
        while (common < mine.size() && common < theirs.size() && mine.get(common).equals(theirs.get(common))) {
            common++;
        }
        List<String> out = new ArrayList<>();
        for (int i = common; i < mine.size(); i++) {
            out.add("..");
        }
        out.addAll(theirs.subList(common, theirs.size()));
        return build(false, out);
    }

    @Override
    public URI toUri() {
        try {
            return new URI(RumpFileSystemProvider.SCHEME, fs.imageUri() + "!" + toAbsolutePath(), null);
        } catch (URISyntaxException e) {
            throw new java.io.IOError(e);
        }
    }

    @Override
    public RumpPath toAbsolutePath() {
        return isAbsolute() ? this : new RumpPath(fs, "/" + path);
    }

    /**
     * The path with symbolic links resolved and {@code .}/{@code ..} removed; with
     * {@code NOFOLLOW_LINKS} only the latter, lexically. The file must exist.
     */
    @Override
    public Path toRealPath(LinkOption... options) throws IOException {
        boolean follow = !Arrays.asList(options).contains(LinkOption.NOFOLLOW_LINKS);
        if (!follow) {
            RumpPath p = (RumpPath) toAbsolutePath().normalize();
            fs.lstat(p);
            return p;
        }
        return fs.realPath(this);
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        throw new UnsupportedOperationException("rump filesystems have no watch service");
    }

    @Override
    public Iterator<Path> iterator() {
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < getNameCount(); i++) {
            out.add(getName(i));
        }
        return out.iterator();
    }

    @Override
    public int compareTo(Path other) {
        return path.compareTo(of(other).path);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RumpPath p && p.fs == fs && p.path.equals(path);
    }

    @Override
    public int hashCode() {
        return path.hashCode();
    }

    @Override
    public String toString() {
        return path;
    }
}
