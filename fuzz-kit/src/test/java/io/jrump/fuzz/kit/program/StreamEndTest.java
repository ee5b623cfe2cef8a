package io.jrump.fuzz.kit.program;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The stream checks of {@link ProgramRunner}: each breach a stack could commit is a finding. */
class StreamEndTest {
    private final StreamEnd client = new StreamEnd("b");
    private final StreamEnd server = new StreamEnd("a");

    StreamEndTest() {
        client.peer = server;
        server.peer = client;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void theNextBytesThePeerSentAreAcceptedInPieces() throws Finding {
        client.sent.writeBytes(bytes("hello world"));
        server.received(bytes("hello"), 5, 16);
        server.received(bytes(" world"), 6, 16);
        assertEquals(11, server.delivered);
    }

    @Test
    void bytesThePeerDidNotSendAreAFindingNamingWhere() {
        client.sent.writeBytes(bytes("hello"));
        Finding f = assertThrows(Finding.class, () -> server.received(bytes("help!"), 5, 5));
        assertTrue(f.getMessage().contains("first difference at byte 3"), f.getMessage());
    }

    @Test
    void moreBytesThanThePeerSentAreAFinding() {
        client.sent.writeBytes(bytes("hi"));
        Finding f = assertThrows(Finding.class, () -> server.received(bytes("hi!"), 3, 8));
        assertTrue(f.getMessage().contains("sent only 2"), f.getMessage());
    }

    @Test
    void endOfStreamBeforeThePeerShutDownIsAFinding() {
        Finding f = assertThrows(Finding.class, () -> server.received(new byte[8], 0, 8));
        assertTrue(f.getMessage().contains("neither shut down nor closed"), f.getMessage());
    }

    @Test
    void endOfStreamBeforeAllThePeersBytesIsAFinding() throws Finding {
        client.sent.writeBytes(bytes("abcdef"));
        client.shutWr = true;
        server.received(bytes("abc"), 3, 8);
        Finding f = assertThrows(Finding.class, () -> server.received(new byte[8], 0, 8));
        assertTrue(f.getMessage().contains("after 3 of the 6 bytes"), f.getMessage());
    }

    @Test
    void endOfStreamAfterEverythingAndAShutdownIsFineAndEndsTheWait() throws Finding {
        client.sent.writeBytes(bytes("abc"));
        client.shutWr = true;
        server.received(bytes("abc"), 3, 8);
        assertTrue(server.awaitsBytes());
        server.received(new byte[8], 0, 8);
        assertFalse(server.awaitsBytes());
    }

    @Test
    void aCountOutsideWhatWasAskedIsAFinding() {
        assertThrows(Finding.class, () -> server.received(new byte[4], 5, 4));
        assertThrows(Finding.class, () -> server.received(new byte[4], -1, 4));
    }

    @Test
    void bytesOnASocketNoConnectionWasAcceptedForAreAFinding() {
        StreamEnd lone = new StreamEnd("a");
        assertThrows(Finding.class, () -> lone.received(bytes("x"), 1, 1));
    }
}
