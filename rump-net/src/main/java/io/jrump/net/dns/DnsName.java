package io.jrump.net.dns;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A domain name as its labels (RFC 1035 §3.1), the root being none. A label holds bytes, kept as
 * the chars 0..255 of a Latin-1 string, so any label read off the wire round-trips. The
 * constructor enforces RFC 1035's limits: labels of 1..63 bytes, at most 255 bytes in wire form.
 * Equality is exact (case kept); {@link #equalsIgnoreCase} is DNS's comparison (ASCII only, RFC 4343).
 * Immutable.
 */
public record DnsName(List<String> labels) {
    public static final int MAX_LABEL_LENGTH = 63;
    public static final int MAX_WIRE_LENGTH = 255;
    public static final DnsName ROOT = new DnsName(List.of());

    public DnsName {
        labels = List.copyOf(labels);
        int wire = 1;
        for (String label : labels) {
            if (label.isEmpty() || label.length() > MAX_LABEL_LENGTH) {
                throw new IllegalArgumentException("DNS label of " + label.length() + " bytes, not 1..63");
            }
            for (int i = 0; i < label.length(); i++) {
                if (label.charAt(i) > 0xff) {
                    throw new IllegalArgumentException("DNS label char U+" + Integer.toHexString(label.charAt(i))
                            + " is not a byte");
                }
            }
            wire += 1 + label.length();
        }
        if (wire > MAX_WIRE_LENGTH) {
            throw new IllegalArgumentException("DNS name of " + wire + " bytes in wire form, over 255");
        }
    }

    /** A name from labels, e.g. {@code DnsName.of("www", "example", "com")}. */
    public static DnsName of(String... labels) {
        return new DnsName(List.of(labels));
    }

    /**
     * Parses dotted text ({@code www.example.com}, a final dot allowed, {@code .} the root); no
     * backslash escapes.
     *
     * @throws ErrnoException {@link Errno#EINVAL} naming the problem: an empty label, a label over
     *     63 bytes, a name over 255, a char outside Latin-1
     */
    public static DnsName parse(String text) throws ErrnoException {
        Objects.requireNonNull(text, "text");
        if (text.equals(".")) {
            return ROOT;
        }
        String body = text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
        if (body.isEmpty() || body.length() > MAX_WIRE_LENGTH) {
            throw new ErrnoException(Errno.EINVAL, "DNS name '" + shorten(text) + "' is empty or over 255 bytes");
        }
        List<String> labels = new ArrayList<>();
        for (String label : body.split("\\.", -1)) {
            labels.add(label);
        }
        try {
            return new DnsName(labels);
        } catch (IllegalArgumentException e) {
            throw new ErrnoException(Errno.EINVAL, "DNS name '" + shorten(text) + "': " + e.getMessage());
        }
    }

    private static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    public boolean isRoot() {
        return labels.isEmpty();
    }

    /** Bytes in uncompressed wire form: a length byte per label, the labels, the final zero. */
    public int wireLength() {
        int n = 1;
        for (String label : labels) {
            n += 1 + label.length();
        }
        return n;
    }

    /** The name without its first {@code n} labels. */
    public DnsName suffix(int n) {
        return new DnsName(labels.subList(n, labels.size()));
    }

    /** This name followed by {@code parent}'s labels. */
    public DnsName append(DnsName parent) throws ErrnoException {
        List<String> all = new ArrayList<>(labels);
        all.addAll(parent.labels);
        try {
            return new DnsName(all);
        } catch (IllegalArgumentException e) {
            throw new ErrnoException(Errno.EINVAL, "DNS name " + this + " + " + parent + ": " + e.getMessage());
        }
    }

    /** DNS comparison: ASCII letters compare without case, other bytes exactly. */
    public boolean equalsIgnoreCase(DnsName other) {
        if (other.labels.size() != labels.size()) {
            return false;
        }
        for (int i = 0; i < labels.size(); i++) {
            if (!asciiLower(labels.get(i)).equals(asciiLower(other.labels.get(i)))) {
                return false;
            }
        }
        return true;
    }

    /** The name with ASCII letters in lower case: a key for maps compared as DNS compares. */
    public DnsName toLowerCase() {
        List<String> lower = new ArrayList<>(labels.size());
        for (String label : labels) {
            lower.add(asciiLower(label));
        }
        return new DnsName(lower);
    }

    private static String asciiLower(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                if (b == null) {
                    b = new StringBuilder(s);
                }
                b.setCharAt(i, (char) (c + 32));
            }
        }
        return b == null ? s : b.toString();
    }

    /** Dotted text with a final dot; dots, backslashes and bytes outside printable ASCII as {@code \DDD}. */
    @Override
    public String toString() {
        if (labels.isEmpty()) {
            return ".";
        }
        StringBuilder b = new StringBuilder();
        for (String label : labels) {
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\') {
                    b.append('\\').append(String.format(Locale.ROOT, "%03d", (int) c));
                } else {
                    b.append(c);
                }
            }
            b.append('.');
        }
        return b.toString();
    }
}
