package io.jrump.fuzz.kit.program;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import io.jrump.fuzz.kit.Calls;
import io.jrump.hypercall.ErrnoException;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a {@link Program} from fuzz input: calls on a small namespace of paths (so that calls meet
 * the same files), descriptors from those defined so far (closed ones too), a TCP connection set
 * up in one choice (listen, connect, accept), power cuts and link faults. The program is written
 * as text and read back with {@link Program#parse}, so a generated program is always one the
 * parser accepts and prints back the same.
 */
public final class ProgramGenerator {
    /** The paths generated programs use: two at the root, a directory and three names in it. */
    public static final List<String> PATHS = List.of("/a", "/b", "/d", "/d/a", "/d/b", "/d/d");
    private static final String[] FLAGS = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_RDWR|O_CREAT", "O_WRONLY|O_CREAT|O_TRUNC",
        "O_RDWR|O_CREAT|O_EXCL", "O_RDONLY|O_CREAT", "O_RDWR|O_TRUNC"};
    private static final int[] PORTS = {80, 81};

    private final FuzzedDataProvider data;
    private final int maxCalls;
    private final List<String> lines = new ArrayList<>();
    private final List<Integer> files = new ArrayList<>();
    private final List<Integer> sockets = new ArrayList<>();
    private final List<Integer> listeners = new ArrayList<>();
    private int next;
    private long bytes;

    private ProgramGenerator(FuzzedDataProvider data, int maxCalls) {
        this.data = data;
        this.maxCalls = Math.min(maxCalls, Program.MAX_CALLS);
    }

    /** A program of at most {@code maxCalls} calls drawn from {@code data}; see {@link Program#generate}. */
    public static Program generate(FuzzedDataProvider data, int maxCalls) {
        return new ProgramGenerator(data, maxCalls).build();
    }

    private Program build() {
        long seed = data.consumeInt(0, 0xffff);
        if (data.consumeInt(0, 7) != 0) {
            lines.add("mount(\"d0\", \"/\", \"ext4\", 0)");
        }
        while (lines.size() < maxCalls && data.remainingBytes() > 0) {
            step();
        }
        StringBuilder b = new StringBuilder(Program.HEADER).append('\n');
        b.append("seed 0x").append(Long.toHexString(seed)).append('\n');
        b.append("disk d0 ext4 4M\n");
        lines.forEach(l -> b.append(l).append('\n'));
        try {
            return Program.parse(b.toString());
        } catch (ErrnoException e) {
            throw new IllegalStateException("the generator wrote a program the parser refuses: " + e.getMessage() + "\n" + b, e);
        }
    }

    private String path() {
        return "\"" + Calls.path(data, PATHS) + "\"";
    }

    private String data() {
        if (data.consumeInt(0, 3) == 0) {
            int n = data.consumeInt(0, 8);
            StringBuilder h = new StringBuilder("hex\"");
            for (int i = 0; i < n; i++) {
                h.append(String.format("%02x", data.consumeInt(0, 255)));
            }
            bytes += n;
            return h.append('"').toString();
        }
        int len = (int) Math.min(Calls.size(data, 16 * 1024), Program.MAX_DATA - bytes);
        bytes += len;
        return "bytes(" + len + ", 0x" + String.format("%02x", data.consumeInt(0, 255)) + ")";
    }

    private String pick(List<Integer> from) {
        return "r" + from.get(data.consumeInt(0, from.size() - 1));
    }

    private void step() {
        switch (data.consumeInt(0, 23)) {
            case 0, 1, 2 -> {
                files.add(next);
                lines.add("r" + next++ + " = open(" + path() + ", " + FLAGS[data.consumeInt(0, FLAGS.length - 1)] + ", 0644)");
            }
            case 3, 4 -> {
                if (!files.isEmpty()) {
                    lines.add("pwrite(" + pick(files) + ", " + data() + ", " + Calls.offset(data, Signature.MAX_OFFSET) + ")");
                }
            }
            case 5 -> {
                if (!files.isEmpty()) {
                    lines.add("pread(" + pick(files) + ", " + Calls.size(data, 16 * 1024) + ", " + Calls.offset(data, 70_000) + ")");
                }
            }
            case 6 -> {
                if (!files.isEmpty()) {
                    lines.add("ftruncate(" + pick(files) + ", " + Calls.offset(data, 70_000) + ")");
                }
            }
            case 7 -> {
                if (!files.isEmpty()) {
                    lines.add("fsync(" + pick(files) + ")");
                }
            }
            case 8 -> lines.add("sync()");
            case 9 -> {
                List<Integer> any = data.consumeBoolean() ? files : sockets;
                if (!any.isEmpty()) {
                    lines.add("close(" + pick(any) + ")");
                }
            }
            case 10 -> lines.add("unlink(" + path() + ")");
            case 11 -> lines.add("mkdir(" + path() + ", 0755)");
            case 12 -> lines.add("rmdir(" + path() + ")");
            case 13 -> lines.add("rename(" + path() + ", " + path() + ")");
            case 14 -> lines.add("stat(" + path() + ")");
            case 15 -> lines.add("powercut()");
            case 16 -> lines.add(data.consumeBoolean() ? "umount(\"/\")" : "mount(\"d0\", \"/\", \"ext4\", 0)");
            case 17 -> connection();
            case 18, 19 -> {
                if (!sockets.isEmpty()) {
                    lines.add("send(" + pick(sockets) + ", " + data() + ")");
                }
            }
            case 20 -> {
                if (!sockets.isEmpty()) {
                    lines.add("recv(" + pick(sockets) + ", " + Calls.size(data, 64 * 1024) + ")");
                }
            }
            case 21 -> {
                if (!sockets.isEmpty()) {
                    lines.add("shutdown(" + pick(sockets) + ", " + new String[] {"SHUT_RD", "SHUT_WR", "SHUT_RDWR"}[data.consumeInt(0, 2)] + ")");
                }
            }
            case 22 -> lines.add(switch (data.consumeInt(0, 2)) {
                case 0 -> "link_down(\"lan\")";
                case 1 -> "link_up(\"lan\")";
                default -> "loss(\"lan\", " + data.pickValue(new int[] {0, 1, 10, 30, 100}) + ")";
            });
            default -> lines.add("sleep(" + data.pickValue(new int[] {1, 10, 200, 1000, 5000, 60_000}) + ")");
        }
    }

    /** A listener, a client connecting to it, and the accept: seven calls, when they fit. */
    private void connection() {
        if (lines.size() + 7 > maxCalls) {
            return;
        }
        boolean serverOnB = data.consumeBoolean();
        boolean clientOnB = data.consumeBoolean();
        int port = data.pickValue(PORTS);
        int l = next++;
        int c = next++;
        int s = next++;
        lines.add((serverOnB ? "b: " : "") + "r" + l + " = socket(AF_INET, SOCK_STREAM, 0)");
        lines.add("bind(r" + l + ", \"0.0.0.0:" + port + "\")");
        lines.add("listen(r" + l + ", 4)");
        lines.add((clientOnB ? "b: " : "") + "r" + c + " = socket(AF_INET, SOCK_STREAM, 0)");
        lines.add("connect(r" + c + ", \"" + (serverOnB ? ProgramRunner.ADDRESS_B : ProgramRunner.ADDRESS_A) + ":" + port + "\")");
        lines.add("sleep(5)");
        lines.add("r" + s + " = accept(r" + l + ")");
        listeners.add(l);
        sockets.add(c);
        sockets.add(s);
    }
}
