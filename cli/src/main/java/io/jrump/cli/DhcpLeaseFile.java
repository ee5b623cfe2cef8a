package io.jrump.cli;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code --dhcp-lease-file}: the lease a TAP command held, so that the next run asks for the
 * same address first (INIT-REBOOT). Text, one {@code key=value} a line, blank lines and lines
 * starting with {@code #} skipped, each key once:
 * {@code mac} (the interface's MAC: the server knows the client by the identifier made from it),
 * {@code address} (the leased address), {@code server} (the server that leased it) and
 * {@code expires} (UTC wall time as {@code 2026-12-07T10:12:00Z}, or {@code never}).
 *
 * Written whole to a temporary file in the same directory and renamed over the old one, so a
 * reader sees the old lease or the new one, never a mix. A file that does not parse is EUCLEAN
 * naming the file and the line.
 */
record DhcpLeaseFile(MacAddress mac, Ipv4Address address, Ipv4Address server, Instant expires) {
    /** A lease file is a few lines; anything larger is not one. */
    static final int MAX_BYTES = 4096;
    private static final List<String> KEYS = List.of("mac", "address", "server", "expires");

    /** {@code expires} null means an infinite lease. */
    DhcpLeaseFile {
        java.util.Objects.requireNonNull(mac, "mac");
        java.util.Objects.requireNonNull(address, "address");
        java.util.Objects.requireNonNull(server, "server");
    }

    /** Whether the lease still runs at {@code now}. */
    boolean unexpiredAt(Instant now) {
        return expires == null || expires.isAfter(now);
    }

    /** The lease in {@code file}, or null if there is no such file. */
    static DhcpLeaseFile read(Path file) throws ErrnoException {
        byte[] bytes;
        long size;
        try {
            size = Files.size(file);
            bytes = size > MAX_BYTES ? null : Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new ErrnoException(Errno.EIO, file + ": " + e.getMessage());
        }
        if (bytes == null || bytes.length > MAX_BYTES) {
            throw corrupt(file, "is " + size + " bytes, more than a lease file's " + MAX_BYTES);
        }
        Map<String, String> values = new HashMap<>();
        Map<String, Integer> lines = new HashMap<>();
        List<String> text = new String(bytes, StandardCharsets.UTF_8).lines().toList();
        for (int n = 1; n <= text.size(); n++) {
            String line = text.get(n - 1).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw corrupt(file, "line " + n + ": not key=value: '" + shorten(line) + "'");
            }
            String key = line.substring(0, eq).strip();
            if (!KEYS.contains(key)) {
                throw corrupt(file, "line " + n + ": unknown key '" + shorten(key) + "' (expected " + KEYS + ")");
            }
            if (values.containsKey(key)) {
                throw corrupt(file, "line " + n + ": '" + key + "' again (first on line " + lines.get(key) + ")");
            }
            values.put(key, line.substring(eq + 1).strip());
            lines.put(key, n);
        }
        for (String key : KEYS) {
            if (!values.containsKey(key)) {
                throw corrupt(file, "no '" + key + "' line");
            }
        }
        MacAddress mac;
        try {
            mac = MacAddress.parse(values.get("mac"));
        } catch (IllegalArgumentException e) {
            throw corrupt(file, "line " + lines.get("mac") + ": 'mac' is not a MAC address: " + e.getMessage());
        }
        if (mac.isMulticast()) {
            throw corrupt(file, "line " + lines.get("mac") + ": 'mac' " + mac + " is a multicast address");
        }
        Ipv4Address address = ipv4(file, values, lines, "address");
        Ipv4Address server = ipv4(file, values, lines, "server");
        Instant expires = null;
        String e = values.get("expires");
        if (!e.equals("never")) {
            try {
                expires = Instant.parse(e);
            } catch (DateTimeParseException x) {
                throw corrupt(file, "line " + lines.get("expires") + ": 'expires' is not a UTC time like"
                        + " 2026-12-07T10:12:00Z, nor 'never': '" + shorten(e) + "'");
            }
        }
        return new DhcpLeaseFile(mac, address, server, expires);
    }

    /** Replaces {@code file} with this lease: a temporary file beside it, then a rename. */
    void write(Path file) throws ErrnoException {
        String text = "# rump DHCP lease: the next run with --dhcp-lease-file asks for this address first\n"
                + "mac=" + mac + "\naddress=" + address + "\nserver=" + server + "\nexpires="
                + (expires == null ? "never" : expires.toString()) + "\n";
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException x) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException x) {
            throw new ErrnoException(Errno.EIO, file + ": lease not written: " + x.getMessage());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // moved already, or the directory went away
                }
            }
        }
    }

    private static Ipv4Address ipv4(Path file, Map<String, String> values, Map<String, Integer> lines, String key)
            throws ErrnoException {
        try {
            return Ipv4Address.parse(values.get(key));
        } catch (IllegalArgumentException e) {
            throw corrupt(file, "line " + lines.get(key) + ": '" + key + "' is not an IPv4 address: '"
                    + shorten(values.get(key)) + "'");
        }
    }

    private static ErrnoException corrupt(Path file, String what) {
        return new ErrnoException(Errno.EUCLEAN, file + ": not a lease file: " + what);
    }

    /** Enough of a bad value to recognise it, not a whole line of garbage. */
    private static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
