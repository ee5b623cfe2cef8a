package io.jrump.net.dns;

import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A DNS message (RFC 1035 §4.1): the header and the four sections. {@link #parse} reads every
 * name through {@link DnsPacket#readName} (pointers only backwards, bounded), checks every length
 * before use and fails only with a {@link DnsFormatException} naming a {@link DnsFormatError}.
 * Bytes after the last record are ignored. {@link #emit} writes the message with names compressed
 * (owner names, and the names inside CNAME, NS, PTR and SOA RDATA, as RFC 3597 §4 allows), so
 * that {@code parse(emit(m))} equals {@code m}. Immutable.
 */
public record DnsMessage(DnsHeader header, List<DnsQuestion> questions, List<DnsRecord> answers,
        List<DnsRecord> authorities, List<DnsRecord> additionals) {
    /** The largest message, as TCP's two-byte length prefix bounds it. */
    public static final int MAX_LENGTH = 0xffff;

    public DnsMessage {
        Objects.requireNonNull(header, "header");
        questions = List.copyOf(questions);
        answers = List.copyOf(answers);
        authorities = List.copyOf(authorities);
        additionals = List.copyOf(additionals);
        for (List<?> section : List.of(questions, answers, authorities, additionals)) {
            if (section.size() > 0xffff) {
                throw new IllegalArgumentException("a DNS section of " + section.size() + " entries, over 65535");
            }
        }
    }

    /** A recursive query for one question, with an OPT record if {@code edns} is given. */
    public static DnsMessage query(int id, DnsQuestion question, Edns edns) {
        return new DnsMessage(DnsHeader.query(id), List.of(question), List.of(), List.of(),
                edns == null ? List.of() : List.of(edns.toRecord()));
    }

    /** The EDNS fields of the OPT record in the additional section, if there is one. */
    public Optional<Edns> edns() {
        for (DnsRecord r : additionals) {
            if (r.type() == DnsType.OPT) {
                return Optional.of(Edns.of(r));
            }
        }
        return Optional.empty();
    }

    /** The 12-bit RCODE: the header's 4 bits and the OPT record's extended 8 (RFC 6891 §6.1.3). */
    public int rcode() {
        return edns().map(e -> e.extendedRcode() << 4).orElse(0) | header.rcode();
    }

    // ---- parsing ---------------------------------------------------------------------------------

    public static DnsMessage parse(byte[] bytes) throws DnsFormatException {
        return parse(DnsPacket.parse(Unpooled.wrappedBuffer(bytes)));
    }

    public static DnsMessage parse(ByteBuf buf) throws DnsFormatException {
        return parse(DnsPacket.parse(buf));
    }

    public static DnsMessage parse(DnsPacket p) throws DnsFormatException {
        int pos = DnsPacket.HEADER_LENGTH;
        int n = p.length();
        List<DnsQuestion> questions = new ArrayList<>(p.questionCount());
        for (int i = 0; i < p.questionCount(); i++) {
            String where = "question " + i;
            DnsPacket.NameAt name = p.readName(pos, n, DnsFormatError.TRUNCATED_NAME, where);
            pos = name.end();
            if (pos + 4 > n) {
                throw new DnsFormatException(DnsFormatError.TRUNCATED_QUESTION, where + " at offset " + pos
                        + ": QTYPE and QCLASS run past the message's " + n + " bytes");
            }
            questions.add(new DnsQuestion(name.name(), p.u16(pos), p.u16(pos + 2)));
            pos += 4;
        }
        Section[] sections = {new Section("answer", p.answerCount()), new Section("authority", p.authorityCount()),
            new Section("additional", p.additionalCount())};
        boolean sawOpt = false;
        for (Section s : sections) {
            for (int i = 0; i < s.count; i++) {
                String where = s.name + " " + i;
                int start = pos;
                DnsPacket.NameAt owner = p.readName(pos, n, DnsFormatError.TRUNCATED_NAME, where);
                pos = owner.end();
                if (pos + 10 > n) {
                    throw new DnsFormatException(DnsFormatError.TRUNCATED_RR, where + " at offset " + start
                            + ": TYPE, CLASS, TTL and RDLENGTH run past the message's " + n + " bytes");
                }
                int type = p.u16(pos);
                int rclass = p.u16(pos + 2);
                long ttl = p.u32(pos + 4);
                int rdLength = p.u16(pos + 8);
                int rdStart = pos + 10;
                if (rdStart + rdLength > n) {
                    throw new DnsFormatException(DnsFormatError.TRUNCATED_RR, where + " at offset " + start
                            + ": RDLENGTH " + rdLength + " at offset " + (pos + 8) + " runs past the message's " + n
                            + " bytes");
                }
                if (type == DnsType.OPT) {
                    if (s != sections[2] || sawOpt || !owner.name().isRoot()) {
                        throw new DnsFormatException(DnsFormatError.BAD_OPT, where + " at offset " + start
                                + ": an OPT record " + (s != sections[2] ? "outside the additional section"
                                : sawOpt ? "after another" : "owned by " + owner.name() + ", not the root"));
                    }
                    sawOpt = true;
                }
                DnsRdata data = rdata(p, type, rdStart, rdLength, where);
                s.records.add(new DnsRecord(owner.name(), type, rclass, ttl, data));
                pos = rdStart + rdLength;
            }
        }
        return new DnsMessage(p.header(), questions, sections[0].records, sections[1].records, sections[2].records);
    }

    private static final class Section {
        final String name;
        final int count;
        final List<DnsRecord> records;

        Section(String name, int count) {
            this.name = name;
            this.count = count;
            this.records = new ArrayList<>(count);
        }
    }

    private static DnsRdata rdata(DnsPacket p, int type, int start, int length, String where)
            throws DnsFormatException {
        int end = start + length;
        switch (type) {
            case DnsType.A -> {
                expectLength(where, type, start, length, 4);
                return new DnsRdata.A(new Ipv4Address((int) p.u32(start)));
            }
            case DnsType.AAAA -> {
                expectLength(where, type, start, length, 16);
                return DnsRdata.Aaaa.of(p.bytes(start, 16));
            }
            case DnsType.CNAME, DnsType.NS, DnsType.PTR -> {
                DnsPacket.NameAt name = p.readName(start, end, DnsFormatError.RDATA_LENGTH_MISMATCH, where);
                expectEnd(where, type, start, name.end(), end);
                return new DnsRdata.Name(name.name());
            }
            case DnsType.SOA -> {
                DnsPacket.NameAt mname = p.readName(start, end, DnsFormatError.RDATA_LENGTH_MISMATCH, where + " SOA MNAME");
                DnsPacket.NameAt rname = p.readName(mname.end(), end, DnsFormatError.RDATA_LENGTH_MISMATCH,
                        where + " SOA RNAME");
                int q = rname.end();
                expectEnd(where, type, start, q + 20, end);
                return new DnsRdata.Soa(mname.name(), rname.name(), p.u32(q), p.u32(q + 4), p.u32(q + 8),
                        p.u32(q + 12), p.u32(q + 16));
            }
            default -> {
                return new DnsRdata.Opaque(p.bytes(start, length));
            }
        }
    }

    private static void expectLength(String where, int type, int start, int length, int expected)
            throws DnsFormatException {
        if (length != expected) {
            throw new DnsFormatException(DnsFormatError.RDATA_LENGTH_MISMATCH, where + " " + DnsType.name(type)
                    + " RDATA at offset " + start + " is " + length + " bytes, not " + expected);
        }
    }

    private static void expectEnd(String where, int type, int start, int actualEnd, int end)
            throws DnsFormatException {
        if (actualEnd != end) {
            throw new DnsFormatException(DnsFormatError.RDATA_LENGTH_MISMATCH, where + " " + DnsType.name(type)
                    + " RDATA at offset " + start + " holds " + (actualEnd - start) + " bytes, RDLENGTH says "
                    + (end - start));
        }
    }

    // ---- emitting --------------------------------------------------------------------------------

    /** The message in wire form. */
    public byte[] toBytes() {
        ByteBuf out = Unpooled.buffer(512);
        emit(out);
        byte[] b = new byte[out.readableBytes()];
        out.readBytes(b);
        return b;
    }

    /**
     * Appends the message at the buffer's writer index, names compressed.
     *
     * @throws IllegalArgumentException if it would exceed {@value #MAX_LENGTH} bytes
     */
    public void emit(ByteBuf out) {
        int base = out.writerIndex();
        out.writeShort(header.id());
        out.writeShort(header.flags());
        out.writeShort(questions.size());
        out.writeShort(answers.size());
        out.writeShort(authorities.size());
        out.writeShort(additionals.size());
        Map<DnsName, Integer> offsets = new HashMap<>();
        for (DnsQuestion q : questions) {
            writeName(out, base, q.name(), offsets);
            out.writeShort(q.type());
            out.writeShort(q.qclass());
        }
        for (List<DnsRecord> section : List.of(answers, authorities, additionals)) {
            for (DnsRecord r : section) {
                writeName(out, base, r.name(), offsets);
                out.writeShort(r.type());
                out.writeShort(r.rclass());
                out.writeInt((int) r.ttl());
                int lengthAt = out.writerIndex();
                out.writeShort(0);
                writeRdata(out, base, r.data(), offsets);
                out.setShort(lengthAt, out.writerIndex() - lengthAt - 2);
                if (out.writerIndex() - base > MAX_LENGTH) {
                    break;
                }
            }
        }
        if (out.writerIndex() - base > MAX_LENGTH) {
            int length = out.writerIndex() - base;
            out.writerIndex(base);
            throw new IllegalArgumentException("DNS message of over " + length + " bytes, over " + MAX_LENGTH);
        }
    }

    private static void writeRdata(ByteBuf out, int base, DnsRdata data, Map<DnsName, Integer> offsets) {
        if (data instanceof DnsRdata.A a) {
            out.writeInt(a.address().bits());
        } else if (data instanceof DnsRdata.Aaaa a) {
            out.writeLong(a.high());
            out.writeLong(a.low());
        } else if (data instanceof DnsRdata.Name n) {
            writeName(out, base, n.name(), offsets);
        } else if (data instanceof DnsRdata.Soa s) {
            writeName(out, base, s.mname(), offsets);
            writeName(out, base, s.rname(), offsets);
            for (long v : new long[] {s.serial(), s.refresh(), s.retry(), s.expire(), s.minimum()}) {
                out.writeInt((int) v);
            }
        } else {
            out.writeBytes(((DnsRdata.Opaque) data).shared());
        }
    }

    /** Writes labels until a suffix already written (exactly, case included) can be pointed at. */
    private static void writeName(ByteBuf out, int base, DnsName name, Map<DnsName, Integer> offsets) {
        List<String> labels = name.labels();
        for (int i = 0; i < labels.size(); i++) {
            DnsName suffix = i == 0 ? name : name.suffix(i);
            Integer at = offsets.get(suffix);
            if (at != null) {
                out.writeShort(0xc000 | at);
                return;
            }
            int here = out.writerIndex() - base;
            if (here < 0x4000) {
                offsets.put(suffix, here);
            }
            String label = labels.get(i);
            out.writeByte(label.length());
            out.writeCharSequence(label, StandardCharsets.ISO_8859_1);
        }
        out.writeByte(0);
    }
}
