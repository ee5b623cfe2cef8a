package io.jrump.cli;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.Callout;
import io.jrump.kernel.RumpKernel;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * Two kernels on one Ethernet segment exchanging frames: kernel a sends "ping N" until kernel b
 * answers "pong N", retrying on a callout when a frame is lost, for {@code count} rounds. Every
 * frame is printed as it is sent and received, in the manner of {@code tcpdump -e}.
 *
 * <p>All protocol state lives on the kernels' event loops; the caller waits on {@link #finished()}.
 */
final class FrameDemo {
    /** IEEE 802 "local experimental" EtherType, free for a demo's own protocol. */
    static final int ETHERTYPE = 0x88b5;
    private static final long RETRY_NANOS = 20_000_000;
    private static final int MAX_SENDS_PER_ROUND = 20;

    private final RumpKernel a;
    private final RumpKernel b;
    private final String link;
    private final int count;
    private final PrintWriter out;
    private final long origin;
    private final CountDownLatch finished = new CountDownLatch(1);

    private HostNic nicA;
    private HostNic nicB;
    private Callout retry;
    // Owned by a's event loop.
    private int next = 1;
    private int sendsThisRound;
    private int sent;
    private MacAddress peer = MacAddress.BROADCAST;
    private volatile String failure;
    private volatile int answered;
    private volatile int replies;

    FrameDemo(RumpKernel a, RumpKernel b, String link, int count, PrintWriter out) {
        this.a = a;
        this.b = b;
        this.link = link;
        this.count = count;
        this.out = out;
        this.origin = a.host().clock().monotonicNanos();
    }

    /** Opens both NICs and starts the first round on a's event loop. */
    void start() throws ErrnoException {
        nicA = a.host().networkInterfaces().open(link, NicOptions.defaults(), this::receivedByA);
        nicB = b.host().networkInterfaces().open(link, NicOptions.defaults(), this::receivedByB);
        print("kernel " + a.name() + " on " + a.host().name() + ": NIC " + link + " " + nicA.mac() + " mtu " + nicA.mtu());
        print("kernel " + b.name() + " on " + b.host().name() + ": NIC " + link + " " + nicB.mac() + " mtu " + nicB.mtu());
        retry = a.newCallout("demo-retry");
        a.host().scheduler().execute(this::sendPing);
    }

    /** Counted down when all rounds are answered or the demo gave up. */
    CountDownLatch finished() {
        return finished;
    }

    /** Why the demo gave up, or null if it succeeded (or is still running). */
    String failure() {
        return failure;
    }

    int sent() {
        return sent;
    }

    int replies() {
        return replies;
    }

    int answered() {
        return answered;
    }

    private void sendPing() {
        if (next > count) {
            return;
        }
        if (sendsThisRound++ == MAX_SENDS_PER_ROUND) {
            fail("no pong " + next + " after " + MAX_SENDS_PER_ROUND + " pings");
            return;
        }
        sent++;
        send(a, nicA, peer, "ping " + next);
        retry.schedule(RETRY_NANOS, this::sendPing);
    }

    private void receivedByA(ByteBuffer frame) {
        String text = payload(frame);
        print(line(a, "received", frame, text));
        if (text.equals("pong " + next)) {
            replies++;
            peer = MacAddress.read(frame, frame.position() + 6);
            next++;
            sendsThisRound = 0;
            retry.stop();
            if (next > count) {
                finished.countDown();
            } else {
                sendPing();
            }
        }
    }

    private void receivedByB(ByteBuffer frame) {
        String text = payload(frame);
        print(line(b, "received", frame, text));
        if (text.startsWith("ping ")) {
            answered++;
            send(b, nicB, MacAddress.read(frame, frame.position() + 6), "pong " + text.substring(5));
        }
    }

    private void send(RumpKernel k, HostNic nic, MacAddress to, String text) {
        byte[] body = text.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer f = ByteBuffer.allocate(HostNic.ETHERNET_HEADER + Math.max(46, body.length + 1));
        to.write(f, 0);
        nic.mac().write(f, 6);
        f.putShort(12, (short) ETHERTYPE);
        f.put(14, (byte) body.length);
        f.put(15, body);
        print(line(k, "sent    ", f, text));
        try {
            nic.send(f);
        } catch (ErrnoException e) {
            fail("kernel " + k.name() + " could not send: " + e.getMessage());
        }
    }

    private void fail(String why) {
        failure = why;
        finished.countDown();
    }

    /** The demo payload: a length byte, then ASCII; anything else prints as its length. */
    private static String payload(ByteBuffer frame) {
        int p = frame.position();
        if (frame.remaining() < 15 || (frame.getShort(p + 12) & 0xffff) != ETHERTYPE) {
            return "(not a demo frame)";
        }
        int len = Math.min(frame.get(p + 14) & 0xff, frame.remaining() - 15);
        byte[] b = new byte[len];
        frame.get(p + 15, b);
        return new String(b, StandardCharsets.US_ASCII);
    }

    private String line(RumpKernel k, String what, ByteBuffer f, String text) {
        int p = f.position();
        double t = (k.host().clock().monotonicNanos() - origin) / 1e9;
        return String.format("%10.6f %s %s %s > %s, ethertype 0x%04x, length %d: %s", t, k.name(), what,
                MacAddress.read(f, p + 6), MacAddress.read(f, p), f.getShort(p + 12) & 0xffff, f.remaining(), text);
    }

    private void print(String s) {
        synchronized (out) {
            out.println(s);
            out.flush();
        }
    }
}
