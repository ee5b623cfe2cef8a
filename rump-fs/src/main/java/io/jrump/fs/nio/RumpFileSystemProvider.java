package io.jrump.fs.nio;

import io.jrump.blk.HostDisk;
import io.jrump.blk.BlockLayer;
import io.jrump.blk.image.ImageFile;
import io.jrump.blk.image.ImageFormat;
import io.jrump.fs.Mounts;
import io.jrump.fs.VfsComponent;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.fs.vfs.FileSystemTypes;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.ForwardingHypercalls;
import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.net.URISyntaxException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.FileSystems;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderNotFoundException;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code rump} provider: the ext2/3/4 filesystem in a disk image (raw or qcow2, whole or one
 * partition) as a {@link FileSystem}, like the JDK's zip provider does for archives.
 *
 * <pre>{@code
 * try (FileSystem fs = FileSystems.newFileSystem(Path.of("disk.img"), Map.of("partition", "2"))) {
 *     Files.writeString(fs.getPath("/etc/hostname"), "box\n");
 * }
 * }</pre>
 *
 * <p>{@link #newFileSystem(Path, Map)} takes image files it recognizes (a filesystem's
 * superblock, a disk-image format such as qcow2, VHD, VDI, VMDK or VHDX, a GPT, or a boot sector
 * when a partition is named) and throws
 * {@link UnsupportedOperationException} for others, so that {@link FileSystems#newFileSystem(Path,
 * Map)} goes on to the next provider. URIs are {@code rump:file:///abs/disk.img!/path}. Env keys:
 * {@code partition}, {@code readOnly}, {@code cacheSize}, {@code options} (the filesystem's
 * own, as {@code mount -o} takes them: {@code "force,check=full"} for ext), {@code host}; any
 * other is an {@link IllegalArgumentException}. An image is open at most once at a time, by either form:
 * a second open throws {@link FileSystemAlreadyExistsException}.
 *
 * <p>Unless the env passes a host, each filesystem makes its own through {@link HostProvider}
 * ({@code jvm} preferred) and closes it with the filesystem.
 *
 * <p>Thread-safe. Opening blocks while the image is read and its journal replayed; failures are
 * the {@code java.nio.file} exceptions (a missing image is {@code NoSuchFileException}, an image
 * that cannot be mounted a {@code FileSystemException} with the reason).
 */
public final class RumpFileSystemProvider extends FileSystemProvider {
    public static final String SCHEME = "rump";
    private static final Set<String> KEYS = Set.of("partition", "readOnly", "cacheSize", "options", "host");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmgt]?)i?b?", Pattern.CASE_INSENSITIVE);

    private final Map<Path, RumpFileSystem> filesystems = new HashMap<>();

    /** The env map, checked. */
    private record Env(Mounts.Options options, Hypercalls host) {
        static Env parse(Map<String, ?> env) {
            Mounts.Options o = Mounts.Options.defaults();
            Hypercalls host = null;
            for (Map.Entry<String, ?> e : env.entrySet()) {
                String key = e.getKey();
                Object v = e.getValue();
                if (!KEYS.contains(key)) {
                    throw new IllegalArgumentException("env key '" + key + "' is not one of " + KEYS);
                }
                if (v == null) {
                    throw new IllegalArgumentException("env key '" + key + "' has no value");
                }
                switch (key) {
                    case "partition" -> o = o.withPartition(v.toString());
                    case "readOnly" -> o = o.withReadOnly(bool(key, v));
                    case "cacheSize" -> o = o.withCacheBytes(size(key, v));
                    case "options" -> o = o.withFsOptions(v.toString());
                    case "host" -> {
                        if (!(v instanceof Hypercalls h)) {
                            throw new IllegalArgumentException("env key 'host' must be a Hypercalls, not " + v.getClass());
                        }
                        host = h;
                    }
                    default -> throw new AssertionError(key);
                }
            }
            return new Env(o, host);
        }

        private static boolean bool(String key, Object v) {
            if (v instanceof Boolean b) {
                return b;
            }
            String s = v.toString();
            if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) {
                return Boolean.parseBoolean(s);
            }
            throw new IllegalArgumentException("env key '" + key + "': '" + v + "' is not true or false");
        }

        /** Bytes, from a number or a string like {@code 64M}. */
        private static long size(String key, Object v) {
            if (v instanceof Number n) {
                if (n.longValue() < 0) {
                    throw new IllegalArgumentException("env key '" + key + "': negative size " + v);
                }
                return n.longValue();
            }
            Matcher m = SIZE.matcher(v.toString().trim());
            if (!m.matches()) {
                throw new IllegalArgumentException("env key '" + key + "': '" + v + "' is not a size like 64M");
            }
            int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
                case "k" -> 10;
                case "m" -> 20;
                case "g" -> 30;
                case "t" -> 40;
                default -> 0;
            };
            return Long.parseLong(m.group(1)) << shift;
        }
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    // ---- opening -----------------------------------------------------------------------------------

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) throws IOException {
        Path image = imageOf(uri);
        Env e = Env.parse(env);
        Hypercalls owned = e.host() == null ? createHost("nio-" + image.getFileName()) : null;
        try {
            return open(image.toRealPath(), e, owned);
        } catch (IOException | RuntimeException | Error x) {
            closeQuietly(owned, x);
            throw x;
        }
    }

    /**
     * Opens the image at {@code path} if it looks like one this provider reads; otherwise
     * {@link UnsupportedOperationException}, as the SPI asks, so other providers are tried.
     */
    @Override
    public FileSystem newFileSystem(Path path, Map<String, ?> env) throws IOException {
        if (path.getFileSystem() != FileSystems.getDefault()) {
            throw new UnsupportedOperationException(path + " is not an image file");
        }
        // The image is read through a host, like every other file a component touches.
        Hypercalls given = env.get("host") instanceof Hypercalls h ? h : null;
        Hypercalls owned = given == null ? createHost("nio-" + path.getFileName()) : null;
        Hypercalls host = given == null ? owned : given;
        try {
            if (!looksLikeImage(host, path.toString(), env.containsKey("partition"))) {
                throw new UnsupportedOperationException(path + " holds no filesystem this provider reads, disk image "
                        + "or partition table");
            }
            return open(path.toRealPath(), Env.parse(env), owned); // keys are checked only once the file is ours
        } catch (IOException | RuntimeException | Error x) {
            closeQuietly(owned, x);
            throw x;
        }
    }

    /**
     * Whether the host storage {@code name} looks like an image this provider reads: a disk-image
     * format's signature (qcow2, VHD, VDI, VMDK, VHDX, or one jrump refuses by name, so that the
     * refusal is the answer), a GPT (512- or 4096-byte sectors), a boot sector when a partition
     * is named, or a filesystem some {@link FileSystemTypes type} recognizes.
     */
    private static boolean looksLikeImage(Hypercalls host, String name, boolean partitionNamed) {
        try (ImageFile file = new ImageFile(host.blockDevices().open(name, OpenMode.READ_ONLY), host.scheduler())) {
            if (ImageFormat.detect(file) != ImageFormat.RAW) {
                return true;
            }
        } catch (ErrnoException e) {
            return false; // missing, a directory, unreadable: not ours to open
        }
        try (HostDisk disk = HostDisk.open(host, name, OpenMode.READ_ONLY)) {
            int n = (int) Math.min(4096 + 512, disk.size());
            ByteBuffer head = ByteBuffer.allocate(n);
            disk.read(0, head);
            boolean gpt = n >= 520 && head.getLong(512) == EFI_PART || n >= 4104 && head.getLong(4096) == EFI_PART;
            boolean mbr = n >= 512 && (head.get(510) & 0xff) == 0x55 && (head.get(511) & 0xff) == 0xaa;
            return gpt || (mbr && partitionNamed) || FileSystemTypes.probe(disk).isPresent();
        } catch (ErrnoException e) {
            return false;
        }
    }

    private static final long EFI_PART = 0x4546492050415254L;

    /** Mounts the image; {@code owned}, a host made for it (null if the env gave one), closes with it. */
    private RumpFileSystem open(Path real, Env e, Hypercalls owned) throws IOException {
        synchronized (filesystems) {
            if (filesystems.containsKey(real)) {
                throw new FileSystemAlreadyExistsException(real.toString());
            }
            // A host the env gave stays the caller's: the kernel gets a view whose close leaves it open.
            Hypercalls host = owned != null ? owned : ForwardingHypercalls.lent(e.host());
            Mounts.Options o = e.options();
            RumpFileSystem fs;
            try {
                RumpKernel kernel = RumpKernel.boot(host, BootOptions.defaults().withName("nio-" + real.getFileName())
                        .withComponentInstances(List.of(new BlockLayer(), new VfsComponent()))
                        .withProperty(VfsComponent.CACHE_BYTES, Long.toString(o.cacheBytes())));
                try {
                    kernel.sys().mount(o.partition() == null ? real.toString() : real + ":" + o.partition(), "/", "auto",
                            o.readOnly() ? VfsComponent.MS_RDONLY : 0, o.fsOptions());
                    fs = new RumpFileSystem(this, real, kernel, o.readOnly());
                } catch (ErrnoException | RuntimeException | Error x) {
                    kernel.close();
                    throw x;
                }
            } catch (ErrnoException x) {
                throw Errors.translateMount(x, real.toString(), o.partition());
            }
            filesystems.put(real, fs);
            return fs;
        }
    }

    private static void closeQuietly(Hypercalls host, Throwable failure) {
        if (host != null) {
            try {
                host.close();
            } catch (RuntimeException e) {
                failure.addSuppressed(e);
            }
        }
    }

    /** A host from the first {@link HostProvider} that makes one by default, {@code jvm} first. */
    private static Hypercalls createHost(String name) {
        List<HostProvider> hosts = new ArrayList<>();
        ServiceLoader.load(HostProvider.class, RumpFileSystemProvider.class.getClassLoader()).forEach(hosts::add);
        hosts.sort((a, b) -> Boolean.compare(!a.name().equals("jvm"), !b.name().equals("jvm")));
        for (HostProvider p : hosts) {
            if (p.unavailableReason().isEmpty()) {
                var h = p.createDefault(name);
                if (h.isPresent()) {
                    return h.get();
                }
            }
        }
        throw new ProviderNotFoundException("no jrump host makes a default instance (put host-jvm on the class "
                + "path, or pass a Hypercalls under env key 'host')");
    }

    void removed(RumpFileSystem fs) {
        synchronized (filesystems) {
            filesystems.remove(fs.image(), fs);
        }
    }

    /** The image a {@code rump:file:///disk.img!/path} URI names. */
    private Path imageOf(URI uri) {
        if (!SCHEME.equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("URI scheme is not '" + SCHEME + "': " + uri);
        }
        String spec = uri.getRawSchemeSpecificPart();
        int sep = spec.indexOf("!/");
        if (sep >= 0) {
            spec = spec.substring(0, sep);
        }
        try {
            return Path.of(new URI(spec)).toAbsolutePath();
        } catch (URISyntaxException | IllegalArgumentException | FileSystemNotFoundException e) {
            throw new IllegalArgumentException("not a rump:file:///image!/path URI: " + uri, e);
        }
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        Path real;
        try {
            real = imageOf(uri).toRealPath();
        } catch (IOException e) {
            throw new FileSystemNotFoundException(uri.toString());
        }
        synchronized (filesystems) {
            RumpFileSystem fs = filesystems.get(real);
            if (fs == null) {
                throw new FileSystemNotFoundException(uri.toString());
            }
            return fs;
        }
    }

    @Override
    public Path getPath(URI uri) {
        String spec = uri.getSchemeSpecificPart();
        int sep = spec.indexOf("!/");
        if (sep < 0) {
            throw new IllegalArgumentException("URI " + uri + " names no path (rump:file:///disk.img!/path)");
        }
        return getFileSystem(uri).getPath(spec.substring(sep + 1));
    }

    // ---- operations --------------------------------------------------------------------------------

    private static RumpPath rump(Path p) {
        return RumpPath.of(p);
    }

    private static boolean follow(LinkOption... options) {
        return !Arrays.asList(options).contains(LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        RumpPath p = rump(path);
        return p.getFileSystem().newByteChannel(p, options, attrs);
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        RumpPath p = rump(path);
        return p.getFileSystem().newByteChannel(p, options, attrs);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        RumpPath p = rump(dir);
        return p.getFileSystem().newDirectoryStream(p, filter);
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        RumpPath p = rump(dir);
        p.getFileSystem().createDirectory(p, attrs);
    }

    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
        RumpPath p = rump(link);
        p.getFileSystem().createSymbolicLink(p, rump(target), attrs);
    }

    @Override
    public void createLink(Path link, Path existing) throws IOException {
        RumpPath p = rump(link);
        RumpPath e = rump(existing);
        if (e.getFileSystem() != p.getFileSystem()) {
            throw new java.nio.file.FileSystemException(link.toString(), existing.toString(),
                    "Invalid cross-device link (EXDEV)");
        }
        p.getFileSystem().createLink(p, e);
    }

    @Override
    public void delete(Path path) throws IOException {
        RumpPath p = rump(path);
        p.getFileSystem().delete(p);
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        RumpPath s = rump(source);
        RumpPath t = rump(target);
        if (s.getFileSystem() != t.getFileSystem()) {
            CrossCopy.copy(s, t, false, options);
            return;
        }
        s.getFileSystem().copy(s, t, options);
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        RumpPath s = rump(source);
        RumpPath t = rump(target);
        if (s.getFileSystem() != t.getFileSystem()) {
            CrossCopy.copy(s, t, true, options);
            return;
        }
        s.getFileSystem().move(s, t, options);
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        RumpPath p = rump(link);
        return p.getFileSystem().readSymbolicLink(p);
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        RumpPath p = rump(path);
        if (p.equals(path2)) {
            return true;
        }
        if (!(path2 instanceof RumpPath q) || q.getFileSystem() != p.getFileSystem()) {
            return false;
        }
        return p.getFileSystem().isSameFile(p, q);
    }

    /** Names starting with a dot are hidden. */
    @Override
    public boolean isHidden(Path path) {
        Path name = rump(path).getFileName();
        return name != null && name.toString().startsWith(".");
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
        RumpPath p = rump(path);
        p.getFileSystem().attributes(p, true);
        return new RumpFileStore(p.getFileSystem());
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        RumpPath p = rump(path);
        p.getFileSystem().checkAccess(p, modes);
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        RumpPath p = rump(path);
        String name;
        if (type == BasicFileAttributeView.class) {
            name = "basic";
        } else if (type == PosixFileAttributeView.class) {
            name = "posix";
        } else if (type == FileOwnerAttributeView.class) {
            name = "owner";
        } else if (type == java.nio.file.attribute.UserDefinedFileAttributeView.class) {
            return type.cast(new RumpUserAttributeView(p, follow(options)));
        } else {
            return null;
        }
        return type.cast(new RumpAttributeView(p, name, follow(options)));
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        if (type != BasicFileAttributes.class && type != PosixFileAttributes.class) {
            throw new UnsupportedOperationException(type.getName() + " is not supported");
        }
        RumpPath p = rump(path);
        return type.cast(p.getFileSystem().attributes(p, follow(options)));
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
            throws IOException {
        RumpPath p = rump(path);
        return p.getFileSystem().readAttributes(p, attributes, follow(options));
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        RumpPath p = rump(path);
        p.getFileSystem().setAttribute(p, attribute, value, follow(options));
    }
}
