package io.jrump.fuzz.kit.meta;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The metadata regions of an image — where its superblocks, tables, inodes, directory and index
 * blocks lie — so that a harness mutates those bytes only and leaves the data blocks out of the
 * fuzz input. {@link #extract} concatenates the regions into a blob (the fuzz input);
 * {@link #splice} writes a blob back over them in a copy of the base image. Regions are sorted by
 * offset and do not overlap (a block two structures share is listed once, as the first that
 * named it).
 */
public final class MetadataMap {
    /** {@code length} bytes at {@code offset} holding the structure {@code what} (e.g. "ext superblock"). */
    public record Region(long offset, int length, String what) {
        /** Whether {@code at} lies inside this region. */
        public boolean contains(long at) {
            return at >= offset && at < offset + length;
        }
    }

    private final List<Region> regions;
    private final int blobLength;

    private MetadataMap(List<Region> regions) {
        this.regions = List.copyOf(regions);
        this.blobLength = regions.stream().mapToInt(Region::length).sum();
    }

    /**
     * A map of the given regions, sorted; a region overlapping one before it is cut to what is
     * left (or dropped), and every region is cut to {@code imageLength}.
     */
    public static MetadataMap of(List<Region> regions, long imageLength) {
        List<Region> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparingLong(Region::offset));
        List<Region> out = new ArrayList<>();
        long end = 0;
        for (Region r : sorted) {
            long from = Math.max(r.offset(), end);
            long to = Math.min(r.offset() + r.length(), imageLength);
            if (from < to) {
                out.add(new Region(from, (int) (to - from), r.what()));
                end = to;
            }
        }
        return new MetadataMap(out);
    }

    /** The regions, by offset. */
    public List<Region> regions() {
        return regions;
    }

    /** The length of a full blob: the regions' lengths summed. */
    public int blobLength() {
        return blobLength;
    }

    /** The region holding byte {@code at} of the image, or null when it is data (not in the map). */
    public Region regionAt(long at) {
        for (Region r : regions) {
            if (r.contains(at)) {
                return r;
            }
        }
        return null;
    }

    /** The regions of {@code image} concatenated, in order: the blob a harness's seed is made of. */
    public byte[] extract(byte[] image) {
        byte[] blob = new byte[blobLength];
        int at = 0;
        for (Region r : regions) {
            System.arraycopy(image, (int) r.offset(), blob, at, r.length());
            at += r.length();
        }
        return blob;
    }

    /**
     * A copy of {@code base} with {@code blob} written over the regions in order: a shorter blob
     * leaves the rest as in the base, bytes past {@link #blobLength()} are ignored.
     */
    public byte[] splice(byte[] base, byte[] blob) {
        return splice(base, blob, 0, blob.length);
    }

    /** As {@link #splice(byte[], byte[])} with the blob {@code length} bytes of {@code input} from {@code from}. */
    public byte[] splice(byte[] base, byte[] input, int from, int length) {
        byte[] image = base.clone();
        int at = from;
        int end = from + Math.min(length, blobLength);
        for (Region r : regions) {
            if (at >= end) {
                break;
            }
            int n = Math.min(r.length(), end - at);
            System.arraycopy(input, at, image, (int) r.offset(), n);
            at += n;
        }
        return image;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(regions.size() + " regions, " + blobLength + " bytes:");
        for (Region r : regions) {
            s.append("\n  ").append(r.offset()).append('+').append(r.length()).append(' ').append(r.what());
        }
        return s.toString();
    }
}
