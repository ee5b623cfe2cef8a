package io.jrump.net.pcap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.wire.ArpRepr;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetFrame;
import io.jrump.net.wire.EthernetRepr;
import io.jrump.net.wire.IcmpRepr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv4Repr;
import io.jrump.net.wire.TcpRepr;
import io.jrump.net.wire.TcpSegment;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Frames built with the wire records, written with {@link PcapWriter} and read back by tshark
 * (Debian package {@code tshark}, listed in {@code .ci/apt-packages}). These tests fail, not skip,
 * without tshark.
 */
class PcapWriterTest {
    private static final MacAddress A_MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final MacAddress B_MAC = MacAddress.parse("02:00:00:00:00:02");
    private static final Ipv4Address A = Ipv4Address.parse("198.18.0.1");
    private static final Ipv4Address B = Ipv4Address.parse("198.18.0.2");
    private static final long T0 = 1_700_000_000_123_456_789L;

    static List<ByteBuf> conversation() {
        List<ByteBuf> frames = new ArrayList<>();
        frames.add(arp(new ArpRepr(ArpRepr.Operation.REQUEST, A_MAC, A, MacAddress.of(0), B), MacAddress.BROADCAST));
        frames.add(arp(new ArpRepr(ArpRepr.Operation.REPLY, B_MAC, B, A_MAC, A), A_MAC));
        ByteBuf ping = Unpooled.copiedBuffer("jrump ping data!", StandardCharsets.US_ASCII);
        frames.add(icmp(A, B, new IcmpRepr.EchoRequest(7, 1, ping)));
        frames.add(icmp(B, A, new IcmpRepr.EchoReply(7, 1, ping)));
        frames.add(udp(A, B, new UdpRepr(40000, 40001, Unpooled.copiedBuffer("hello udp", StandardCharsets.US_ASCII))));
        int isnA = 1000;
        int isnB = 5000;
        TcpRepr.Timestamps tsA = new TcpRepr.Timestamps(100, 0);
        frames.add(tcp(A, B, new TcpRepr(40002, 40003, isnA, 0, TcpSegment.SYN, 64240, 0, 1460, 7, true, tsA,
                List.of(), Unpooled.EMPTY_BUFFER)));
        frames.add(tcp(B, A, new TcpRepr(40003, 40002, isnB, isnA + 1, TcpSegment.SYN | TcpSegment.ACK, 65160, 0,
                1460, 7, true, new TcpRepr.Timestamps(200, 100), List.of(), Unpooled.EMPTY_BUFFER)));
        frames.add(tcp(A, B, new TcpRepr(40002, 40003, isnA + 1, isnB + 1, TcpSegment.ACK, 502, 0, -1, -1, false,
                new TcpRepr.Timestamps(101, 200), List.of(), Unpooled.EMPTY_BUFFER)));
        ByteBuf data = Unpooled.copiedBuffer("some data for the peer\n", StandardCharsets.US_ASCII);
        frames.add(tcp(A, B, new TcpRepr(40002, 40003, isnA + 1, isnB + 1, TcpSegment.ACK | TcpSegment.PSH, 502, 0,
                -1, -1, false, new TcpRepr.Timestamps(102, 200), List.of(), data)));
        frames.add(tcp(B, A, new TcpRepr(40003, 40002, isnB + 1, isnA + 1 + data.readableBytes(), TcpSegment.ACK,
                509, 0, -1, -1, false, new TcpRepr.Timestamps(201, 102), List.of(), Unpooled.EMPTY_BUFFER)));
        return frames;
    }

    private static ByteBuf arp(ArpRepr a, MacAddress dst) {
        ByteBuf b = Unpooled.buffer(42).writerIndex(42);
        new EthernetRepr(dst, a.senderHardwareAddress(), EtherType.ARP).emit(b, 0);
        a.emit(b, EthernetFrame.HEADER_LENGTH);
        return b;
    }

    private static ByteBuf ip(Ipv4Address src, Ipv4Address dst, IpProtocol protocol, int payloadLength) {
        Ipv4Repr ip = Ipv4Repr.of(src, dst, protocol, payloadLength, 64, 0x100 + payloadLength);
        int length = EthernetFrame.HEADER_LENGTH + ip.totalLength();
        ByteBuf b = Unpooled.buffer(length).writerIndex(length);
        boolean fromA = src.equals(A);
        new EthernetRepr(fromA ? B_MAC : A_MAC, fromA ? A_MAC : B_MAC, EtherType.IPV4).emit(b, 0);
        ip.emit(b, EthernetFrame.HEADER_LENGTH);
        return b;
    }

    private static ByteBuf icmp(Ipv4Address src, Ipv4Address dst, IcmpRepr r) {
        ByteBuf b = ip(src, dst, IpProtocol.ICMP, r.bufferLength());
        r.emit(b, 34);
        return b;
    }

    private static ByteBuf udp(Ipv4Address src, Ipv4Address dst, UdpRepr r) {
        ByteBuf b = ip(src, dst, IpProtocol.UDP, r.bufferLength());
        r.emit(b, 34, src, dst);
        return b;
    }

    private static ByteBuf tcp(Ipv4Address src, Ipv4Address dst, TcpRepr r) {
        ByteBuf b = ip(src, dst, IpProtocol.TCP, r.bufferLength());
        r.emit(b, 34, src, dst);
        return b;
    }

    private static Path writeConversation(Path dir) throws IOException {
        Path file = dir.resolve("conversation.pcap");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                PcapWriter w = PcapWriter.open(ch)) {
            long t = T0;
            for (ByteBuf f : conversation()) {
                w.write(t, f);
                t += 1_000_001;
            }
        }
        return file;
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + String.join(" ", command));
        }
        assertEquals(0, p.exitValue(), String.join(" ", command) + " printed\n" + out);
        return out;
    }

    @Test
    void tsharkFindsNothingMalformedAndNoChecksumErrors(@TempDir Path dir) throws Exception {
        Path file = writeConversation(dir);
        String out = run("tshark", "-r", file.toString(), "-o", "ip.check_checksum:TRUE", "-o",
                "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-Y",
                "_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == \"Bad\""
                        + " || tcp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\""
                        + " || icmp.checksum.status == \"Bad\"");
        assertEquals("", out);
    }

    @Test
    void tsharkSeesEachProtocolAndField(@TempDir Path dir) throws Exception {
        Path file = writeConversation(dir);
        String out = run("tshark", "-r", file.toString(), "-T", "fields", "-e", "frame.protocols");
        assertEquals(List.of("eth:ethertype:arp", "eth:ethertype:arp", "eth:ethertype:ip:icmp:data",
                "eth:ethertype:ip:icmp:data", "eth:ethertype:ip:udp:data", "eth:ethertype:ip:tcp", "eth:ethertype:ip:tcp",
                "eth:ethertype:ip:tcp", "eth:ethertype:ip:tcp:data", "eth:ethertype:ip:tcp"), out.lines().toList());
        String syn = run("tshark", "-r", file.toString(), "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T",
                "fields", "-E", "separator=,", "-e", "tcp.options.mss_val", "-e", "tcp.options.wscale.shift", "-e",
                "tcp.options.sack_perm", "-e", "tcp.options.timestamp.tsval", "-e", "frame.time_epoch");
        // The SYN is the sixth record: T0 plus 5 steps of 1_000_001 ns. SACK-permitted prints as its bytes.
        assertEquals("1460,7,0402,100,1700000000.128456794", syn.strip());
    }

    @Test
    void readerGetsBackTheRecordsAndTimestamps() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PcapWriter w = PcapWriter.open(Channels.newChannel(out), 64);
        List<ByteBuf> frames = conversation();
        for (int i = 0; i < frames.size(); i++) {
            w.write(T0 + i, frames.get(i));
        }
        byte[] file = out.toByteArray();
        assertEquals("4d3cb2a1020004000000000000000000", ByteBufUtil.hexDump(file, 0, 16));
        PcapReader r = PcapReader.open(new java.io.ByteArrayInputStream(file));
        assertEquals(PcapWriter.LINKTYPE_ETHERNET, r.linkType());
        assertEquals(64, r.snaplen());
        List<PcapReader.Record> records = r.readAll();
        assertEquals(frames.size(), records.size());
        for (int i = 0; i < frames.size(); i++) {
            ByteBuf f = frames.get(i);
            assertEquals(T0 + i, records.get(i).timestampNanos());
            assertEquals(f.readableBytes(), records.get(i).originalLength());
            assertArrayEquals(ByteBufUtil.getBytes(f, 0, Math.min(64, f.readableBytes())), records.get(i).data());
        }
    }

    @Test
    void recordsFromManyThreadsStayWhole() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PcapWriter w = PcapWriter.open(Channels.newChannel(out));
        List<ByteBuf> frames = conversation();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 200; i++) {
                        ByteBuf f = frames.get(i % frames.size());
                        w.write(T0, f.duplicate());
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        List<PcapReader.Record> records = PcapReader.open(new java.io.ByteArrayInputStream(out.toByteArray())).readAll();
        assertEquals(800, records.size());
        List<String> known = frames.stream().map(ByteBufUtil::hexDump).toList();
        for (PcapReader.Record rec : records) {
            assertEquals(true, known.contains(ByteBufUtil.hexDump(rec.data())));
        }
    }
}
