package com.example.consumer;

import io.jrump.fs.Mounts;
import io.jrump.fs.vfs.Vfs;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets.SocketAddress;
import io.jrump.net.stack.Sockets;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What a new user writes first: two kernels with their own TCP/IP stacks talking over TCP, and a
 * file read from an ext4 image. Only the published API, as docs/rump-net.md and docs/rump-fs.md
 * show it.
 */
public final class Embedded {
    private Embedded() {
    }

    /** Sends {@code name} from one stack to the other over TCP and returns the answer. */
    public static String tcpHello(String name) throws Exception {
        NetStack server = new NetStack();
        NetStack client = new NetStack();
        try (RumpKernel ks = RumpKernel.boot(JvmHost.create("server"),
                     BootOptions.defaults().withName("server").withComponentInstances(List.of(server)));
             RumpKernel kc = RumpKernel.boot(JvmHost.create("client"),
                     BootOptions.defaults().withName("client").withComponentInstances(List.of(client)))) {
            server.addInterface("sw0", NicOptions.mtu(1500));
            server.addAddress("sw0", Ipv4Address.parse("198.18.0.2"), 24);
            client.addInterface("sw0", NicOptions.mtu(1500));
            client.addAddress("sw0", Ipv4Address.parse("198.18.0.1"), 24);

            Sockets s = server.sockets();
            int listener = s.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            s.bind(listener, new SocketAddress(Ipv4Address.ANY, 8080));
            s.listen(listener, 16);
            Exception[] failed = new Exception[1];
            Thread serving = new Thread(() -> {
                try {
                    int conn = s.accept(listener);
                    ByteBuffer got = ByteBuffer.allocate(256);
                    while (s.recv(conn, got, 0).length() > 0) {
                    }
                    String answer = "hello, " + new String(got.array(), 0, got.position(), StandardCharsets.UTF_8);
                    s.send(conn, ByteBuffer.wrap(answer.getBytes(StandardCharsets.UTF_8)), 0);
                    s.close(conn);
                } catch (Exception e) {
                    failed[0] = e;
                }
            });
            serving.start();

            Sockets c = client.sockets();
            int fd = c.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            c.connect(fd, new SocketAddress(Ipv4Address.parse("198.18.0.2"), 8080));
            c.send(fd, ByteBuffer.wrap(name.getBytes(StandardCharsets.UTF_8)), 0);
            c.shutdown(fd, Sockets.SHUT_WR);
            ByteBuffer reply = ByteBuffer.allocate(256);
            while (c.recv(fd, reply, 0).length() > 0) {
            }
            c.close(fd);
            serving.join();
            if (failed[0] != null) {
                throw failed[0];
            }
            return new String(reply.array(), 0, reply.position(), StandardCharsets.UTF_8);
        }
    }

    /** The names in directory {@code dir} of the filesystem in {@code image}, opened read-only. */
    public static List<String> list(String image, String dir) throws Exception {
        try (JvmHost host = JvmHost.create("fs");
             Vfs vfs = Mounts.mountImage(host, image, Mounts.Options.defaults().withReadOnly(true))) {
            List<String> names = new ArrayList<>();
            for (DirEntry e : vfs.readdir(dir)) {
                names.add(e.name());
            }
            return names;
        }
    }

    /** The contents of {@code file} in the filesystem in {@code image}, opened read-only. */
    public static String read(String image, String file) throws Exception {
        try (JvmHost host = JvmHost.create("fs");
             Vfs vfs = Mounts.mountImage(host, image, Mounts.Options.defaults().withReadOnly(true))) {
            int fd = vfs.open(file, OpenFlags.O_RDONLY, 0);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (vfs.read(fd, buf.clear()) > 0) {
                out.write(buf.array(), 0, buf.position());
            }
            vfs.close(fd);
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    /** {@code java com.example.consumer.Embedded [image.ext4 [/path/in/it]]}. */
    public static void main(String[] args) throws Exception {
        System.out.println(tcpHello("jrump"));
        if (args.length > 0) {
            String path = args.length > 1 ? args[1] : "/";
            System.out.println(path.endsWith("/") ? String.join("\n", list(args[0], path)) : read(args[0], path));
        }
    }
}
