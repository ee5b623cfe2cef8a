package io.jrump.fs.ext;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.HashMap;
import java.util.Map;

/**
 * ext4's casefold: names in a directory with {@link #CASEFOLD_FL} are compared, and hashed for
 * the htree index, in the form Linux's fs/unicode calls "nfdicf" — canonical decomposition (NFD)
 * with full case folding (Unicode CaseFolding.txt, statuses C and F), computed here as
 * NFD(fold(NFD(name))). The folding table is the resource {@code casefolding.txt}: Unicode's
 * folding of the code points assigned in Unicode 12.1, the version of the kernel's tables (the
 * only one mke2fs writes, s_encoding 1 "utf8-12.1"); code points newer than that are left as they
 * are, as the kernel leaves them. NFD is Java's {@link Normalizer}, which is of Unicode 13 in
 * Java 17: it decomposes the few 13.0 characters that have decompositions, which the kernel's
 * 12.1 tables leave whole. A name that is not valid UTF-8 has no folded form: it is compared
 * and hashed as raw bytes in a non-strict filesystem, and refused in a strict one
 * (s_encoding_flags bit 0), as the kernel does. Stateless and thread-safe.
 */
final class Casefold {
    /** i_flags: the directory's names are compared case-insensitively (chattr +F). */
    static final int CASEFOLD_FL = 0x40000000;
    /** s_encoding: the one encoding Linux defines, UTF-8 with Unicode 12.1 tables. */
    static final int ENCODING_UTF8 = 1;
    /** s_encoding_flags: names that are not valid UTF-8 are refused in casefolded directories. */
    static final int STRICT_MODE_FL = 0x1;
    /** Offsets of s_encoding and s_encoding_flags in the superblock. */
    static final int SB_ENCODING = 0x27C;
    static final int SB_ENCODING_FLAGS = 0x27E;

    private static final Map<Integer, int[]> FOLDS = load();

    private Casefold() {
    }

    private static Map<Integer, int[]> load() {
        Map<Integer, int[]> m = new HashMap<>(2048);
        try (InputStream in = Casefold.class.getResourceAsStream("casefolding.txt")) {
            if (in == null) {
                throw new IllegalStateException("casefolding.txt missing from the rump-fs jar");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.charAt(0) == '#') {
                    continue;
                }
                String[] f = line.split(" ");
                int[] to = new int[f.length - 1];
                for (int i = 1; i < f.length; i++) {
                    to[i - 1] = Integer.parseInt(f[i], 16);
                }
                m.put(Integer.parseInt(f[0], 16), to);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return m;
    }

    /** Whether {@code dir}'s names are casefolded: its flag, on a filesystem with the casefold feature. */
    static boolean applies(Superblock sb, Inode dir) {
        return (sb.featureIncompat() & Superblock.INCOMPAT_CASEFOLD) != 0 && (dir.flags() & CASEFOLD_FL) != 0
                && dir.isDir();
    }

    /** Whether {@code name} can be written as UTF-8: a Java string can hold lone surrogates, which cannot. */
    static boolean validUtf8(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < name.length() && Character.isLowSurrogate(name.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    /** The nfdicf form of a valid name. */
    static String fold(String name) {
        String nfd = Normalizer.normalize(name, Normalizer.Form.NFD);
        StringBuilder out = new StringBuilder(nfd.length() + 8);
        boolean changed = false;
        for (int i = 0; i < nfd.length(); ) {
            int cp = nfd.codePointAt(i);
            i += Character.charCount(cp);
            int[] to = FOLDS.get(cp);
            if (to == null) {
                out.appendCodePoint(cp);
            } else {
                changed = true;
                for (int t : to) {
                    out.appendCodePoint(t);
                }
            }
        }
        // A fold can yield a decomposable character or a combining mark out of canonical order.
        return changed ? Normalizer.normalize(out, Normalizer.Form.NFD) : nfd;
    }

    /** The key a casefolded directory's name map uses for {@code name}. */
    static String key(String name) {
        return validUtf8(name) ? fold(name) : name;
    }

    /**
     * The bytes a casefolded directory hashes and compares for the on-disk name {@code raw}: its
     * nfdicf form in UTF-8, or {@code raw} itself when it is not valid UTF-8.
     */
    static byte[] foldBytes(byte[] raw) {
        boolean plain = true; // lowercase ASCII folds to itself
        for (byte b : raw) {
            if (b < 0 || b >= 'A' && b <= 'Z') {
                plain = false;
                break;
            }
        }
        if (plain) {
            return raw;
        }
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CharBuffer chars;
        try {
            chars = dec.decode(ByteBuffer.wrap(raw));
        } catch (CharacterCodingException e) {
            return raw;
        }
        return fold(chars.toString()).getBytes(StandardCharsets.UTF_8);
    }
}
