package io.jrump.blk.image;

import io.airlift.compress.zstd.ZstdDecompressor;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decompresses one qcow2 compressed cluster: raw deflate (compression_type 0) or zstd frames
 * (compression_type 1). The stored bytes run to a sector boundary, so compressed data is followed
 * by padding (or the next cluster's data): decoding stops when the cluster is full, and zstd
 * frames are measured by walking their block headers so that the decoder sees one frame exactly.
 * zstd is decoded by aircompressor, pure Java: no native code in a component.
 */
final class Qcow2Decompressor {
    private static final int ZSTD_MAGIC = 0xFD2FB528;

    /** Why the bytes are not one cluster of compressed data. */
    static final class BadData extends Exception {
        BadData(String message) {
            super(message);
        }
    }

    private Qcow2Decompressor() {
    }

    static void decompress(int type, byte[] in, byte[] out) throws BadData {
        if (type == Qcow2Header.COMPRESSION_ZSTD) {
            zstd(in, out);
        } else {
            inflate(in, out);
        }
    }

    private static void inflate(byte[] in, byte[] out) throws BadData {
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(in);
            int n = 0;
            while (n < out.length && !inf.finished()) {
                int got = inf.inflate(out, n, out.length - n);
                if (got == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                n += got;
            }
            if (n < out.length) {
                throw new BadData("inflates to " + n + " bytes, not " + out.length);
            }
        } catch (DataFormatException e) {
            throw new BadData("deflate: " + e.getMessage());
        } finally {
            inf.end();
        }
    }

    /** Decodes whole zstd frames, one after another, until the cluster is full. */
    private static void zstd(byte[] in, byte[] out) throws BadData {
        int at = 0;
        int n = 0;
        ZstdDecompressor z = new ZstdDecompressor();
        while (n < out.length) {
            int frame = frameLength(in, at);
            try {
                n += z.decompress(in, at, frame, out, n, out.length - n);
            } catch (RuntimeException e) { // aircompressor's MalformedInputException, or worse on hostile bytes
                throw new BadData("zstd frame at byte " + at + ": " + e.getMessage());
            }
            at += frame;
            if (n < out.length && at >= in.length) {
                throw new BadData("zstd data ends after " + n + " bytes, not " + out.length);
            }
        }
    }

    /** The length of the zstd frame at {@code at} (RFC 8878 section 3.1.1), from its header and block headers. */
    static int frameLength(byte[] in, int at) throws BadData {
        int p = at;
        if (in.length - p < 5 || le32(in, p) != ZSTD_MAGIC) {
            throw new BadData("no zstd frame magic at byte " + at);
        }
        p += 4;
        int descriptor = in[p++] & 0xff;
        int fcsFlag = descriptor >>> 6;
        boolean singleSegment = (descriptor & 0x20) != 0;
        boolean checksum = (descriptor & 0x04) != 0;
        int dictIdBytes = new int[] {0, 1, 2, 4}[descriptor & 3];
        int fcsBytes = fcsFlag == 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag;
        p += (singleSegment ? 0 : 1) + dictIdBytes + fcsBytes;
        while (true) {
            if (in.length - p < 3) {
                throw new BadData("zstd frame at byte " + at + " has no last block");
            }
            int block = (in[p] & 0xff) | (in[p + 1] & 0xff) << 8 | (in[p + 2] & 0xff) << 16;
            p += 3;
            int type = (block >>> 1) & 3;
            int size = block >>> 3;
            if (type == 3) {
                throw new BadData("zstd block of reserved type at byte " + (p - 3));
            }
            int stored = type == 1 ? 1 : size;
            if (in.length - p < stored) {
                throw new BadData("zstd block at byte " + (p - 3) + " of " + stored + " bytes runs past the data");
            }
            p += stored;
            if ((block & 1) != 0) {
                break;
            }
        }
        p += checksum ? 4 : 0;
        if (p > in.length) {
            throw new BadData("zstd frame at byte " + at + " has no room for its checksum");
        }
        return p - at;
    }

    private static int le32(byte[] b, int p) {
        return (b[p] & 0xff) | (b[p + 1] & 0xff) << 8 | (b[p + 2] & 0xff) << 16 | (b[p + 3] & 0xff) << 24;
    }
}
