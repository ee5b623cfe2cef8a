package io.jrump.host.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jrump.hypercall.MacAddress;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class LearningTableTest {
    private static final MacAddress A = MacAddress.parse("02:00:00:00:00:0a");
    private static final MacAddress B = MacAddress.parse("02:00:00:00:00:0b");
    private static final MacAddress C = MacAddress.parse("02:00:00:00:00:0c");

    private static ByteBuffer frame(MacAddress dst, MacAddress src) {
        ByteBuffer b = ByteBuffer.allocate(60);
        dst.write(b, 0);
        src.write(b, 6);
        return b;
    }

    @Test
    void floodsUnknownThenForwardsLearned() {
        LearningTable<String> t = new LearningTable<>(16);
        List.of("a", "b", "c").forEach(t::attach);
        assertEquals(List.of("b", "c"), t.forward(frame(B, A), "a"), "unknown unicast floods");
        assertEquals(List.of("a"), t.forward(frame(A, B), "b"), "a was learned");
        assertEquals(List.of("b"), t.forward(frame(B, C), "c"));
        assertEquals(List.of("a", "b"), t.forward(frame(MacAddress.BROADCAST, C), "c"));
        assertEquals(List.of(), t.forward(frame(A, A), "a"), "never back out of the ingress port");
    }

    @Test
    void detachingForgetsTheAddressesOfThePort() {
        LearningTable<String> t = new LearningTable<>(16);
        List.of("a", "b", "c").forEach(t::attach);
        t.forward(frame(B, A), "a");
        t.detach("a");
        assertEquals(0, t.learnedCount());
        assertEquals(List.of("c"), t.forward(frame(A, B), "b"));
    }

    @Test
    void aFullTableStopsLearningButKeepsForwarding() {
        LearningTable<String> t = new LearningTable<>(2);
        List.of("a", "b", "c").forEach(t::attach);
        for (int i = 0; i < 100; i++) {
            t.forward(frame(MacAddress.BROADCAST, MacAddress.of(0x020000001000L + i)), "a");
        }
        assertEquals(2, t.learnedCount());
        assertEquals(List.of("a", "c"), t.forward(frame(MacAddress.of(0x020000001050L), B), "b"));
    }

    @Test
    void multicastSourcesAreNotLearned() {
        LearningTable<String> t = new LearningTable<>(16);
        List.of("a", "b").forEach(t::attach);
        t.forward(frame(B, MacAddress.BROADCAST), "a");
        assertEquals(0, t.learnedCount());
    }
}
