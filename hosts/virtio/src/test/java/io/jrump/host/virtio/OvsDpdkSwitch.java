package io.jrump.host.virtio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An Open vSwitch with DPDK (Debian's {@code openvswitch-switch-dpdk}) of its own: its database and
 * {@code ovs-vswitchd-dpdk} run from a private directory, with one userspace bridge whose ports
 * are vhost-user sockets ({@code dpdkvhostuser}, OVS the server). A learning switch nobody here
 * wrote, for the conformance kit's NIC group. DPDK in OVS 3.1 needs hugepages: this reserves
 * 2 MiB pages (and mounts hugetlbfs) if there are too few, and gives them back on close. Root only.
 */
public final class OvsDpdkSwitch implements AutoCloseable {
    private static final Path HUGEPAGES = Path.of("/proc/sys/vm/nr_hugepages");
    private static final int PAGES = 160;

    private final Path dir;
    private final int ports;
    private final String hugepagesBefore;
    private final boolean mounted;

    private OvsDpdkSwitch(Path dir, int ports, String hugepagesBefore, boolean mounted) {
        this.dir = dir;
        this.ports = ports;
        this.hugepagesBefore = hugepagesBefore;
        this.mounted = mounted;
    }

    /** Starts the switch in {@code dir} with bridge {@code br0} and {@code ports} vhost-user ports. */
    public static OvsDpdkSwitch start(Path dir, int ports) throws IOException, InterruptedException {
        String before = Files.readString(HUGEPAGES).strip();
        if (Integer.parseInt(before) < PAGES) {
            Files.writeString(HUGEPAGES, String.valueOf(PAGES));
        }
        boolean mount = !Files.readString(Path.of("/proc/mounts")).contains("hugetlbfs");
        if (mount) {
            Files.createDirectories(Path.of("/dev/hugepages"));
            run(Map.of(), "mount", "-t", "hugetlbfs", "none", "/dev/hugepages");
        }
        OvsDpdkSwitch sw = new OvsDpdkSwitch(dir, ports, before, mount);
        try {
            sw.boot();
        } catch (IOException | InterruptedException | RuntimeException e) {
            sw.close();
            throw e;
        }
        return sw;
    }

    private Map<String, String> env() {
        return Map.of("OVS_RUNDIR", dir.toString(), "OVS_DBDIR", dir.toString(), "OVS_LOGDIR", dir.toString(),
                "OVS_SYSCONFDIR", dir.toString());
    }

    private String vsctl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ovs-vsctl", "--db=unix:" + dir.resolve("db.sock"), "--timeout=30"));
        cmd.addAll(List.of(args));
        return run(env(), cmd.toArray(String[]::new));
    }

    private void boot() throws IOException, InterruptedException {
        Path db = dir.resolve("conf.db");
        run(env(), "ovsdb-tool", "create", db.toString(), "/usr/share/openvswitch/vswitch.ovsschema");
        run(env(), "ovsdb-server", "--remote=punix:" + dir.resolve("db.sock"), "--pidfile=" + dir.resolve("ovsdb.pid"),
                "--detach", "--log-file=" + dir.resolve("ovsdb.log"), db.toString());
        vsctl("--no-wait", "init");
        vsctl("--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true", "other_config:dpdk-extra=--no-pci",
                "other_config:dpdk-socket-mem=128");
        run(env(), "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk", "unix:" + dir.resolve("db.sock"),
                "--pidfile=" + dir.resolve("vswitchd.pid"), "--detach", "--log-file=" + dir.resolve("vswitchd.log"));
        vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev");
        for (int i = 0; i < ports; i++) {
            vsctl("add-port", "br0", "vhu" + i, "--", "set", "Interface", "vhu" + i, "type=dpdkvhostuser");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(port(ports - 1))) {
            if (System.nanoTime() > deadline) {
                throw new IOException("Open vSwitch made no vhost-user sockets: " + Files.readString(dir.resolve("vswitchd.log")));
            }
            Thread.sleep(20);
        }
    }

    /** The vhost-user socket of port {@code i}. */
    public Path port(int i) {
        return dir.resolve("vhu" + i);
    }

    public int ports() {
        return ports;
    }

    /**
     * Waits until port {@code i}'s link is {@code up} (OVS has taken the front-end's rings) or
     * {@code down} again (it let go of the last one), as OVS reports it; at most 20 s.
     */
    public void awaitLink(int i, boolean up) throws IOException, InterruptedException {
        String want = up ? "up" : "down";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!vsctl("get", "Interface", "vhu" + i, "link_state").strip().equals(want) || up && !polled(i)) {
            if (System.nanoTime() > deadline) {
                throw new IOException("port vhu" + i + " not " + want + " after 20 s: " + log());
            }
            Thread.sleep(10);
        }
    }

    /** Whether a PMD thread polls port {@code i}'s receive queue, enabled: then frames from it are forwarded. */
    private boolean polled(int i) throws IOException, InterruptedException {
        String pid = Files.readString(dir.resolve("vswitchd.pid")).strip();
        String rxqs = run(env(), "ovs-appctl", "--target=" + dir.resolve("ovs-vswitchd-dpdk." + pid + ".ctl"),
                "dpif-netdev/pmd-rxq-show");
        return rxqs.lines().anyMatch(l -> l.contains("port: vhu" + i + " ") && l.contains("(enabled)"));
    }

    /** What ovs-vswitchd logged. */
    public String log() throws IOException {
        Path log = dir.resolve("vswitchd.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    static String run(Map<String, String> env, String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n" + out);
        }
        return out;
    }

    private void kill(String pidFile) throws IOException, InterruptedException {
        Path f = dir.resolve(pidFile);
        if (Files.exists(f)) {
            long pid = Long.parseLong(Files.readString(f).strip());
            ProcessHandle.of(pid).ifPresent(h -> {
                h.destroy();
                try {
                    h.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    h.destroyForcibly();
                }
            });
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        kill("vswitchd.pid");
        kill("ovsdb.pid");
        if (mounted) {
            run(Map.of(), "umount", "/dev/hugepages");
        }
        Files.writeString(HUGEPAGES, hugepagesBefore);
    }
}
