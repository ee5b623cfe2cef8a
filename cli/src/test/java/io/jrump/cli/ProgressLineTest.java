package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** When the progress line shows and what it says, on a clock the test moves. */
class ProgressLineTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final StringWriter sink = new StringWriter();

    private ProgressLine line(Boolean asked, boolean terminal) {
        return new ProgressLine(new PrintWriter(sink), "copying", "files", asked, terminal, now::get);
    }

    @Test
    void onATerminalItStaysQuietForTwoSecondsThenShows() {
        ProgressLine p = line(null, true).total(1000, 4);
        p.addBytes(100);
        p.addItem();
        assertEquals("", sink.toString(), "quick work shows nothing");
        now.addAndGet(ProgressLine.AUTO_AFTER_NANOS);
        p.addBytes(400);
        p.addItem();
        assertTrue(sink.toString().startsWith("\rcopying [##########          ] 50%  1/4 files  500B/1000B  250B/s  0:02"),
                sink.toString());
        p.done(); // redraws at most every 200 ms; done draws the last state
        assertTrue(sink.toString().endsWith("\rcopying [##########          ] 50%  2/4 files  500B/1000B  250B/s  0:02   \n"),
                sink.toString());
    }

    @Test
    void withoutATerminalOnlyWhenAskedAndNeverWhenRefused() {
        ProgressLine quiet = line(null, false);
        now.addAndGet(60 * ProgressLine.AUTO_AFTER_NANOS);
        quiet.addItem();
        quiet.done();
        assertEquals("", sink.toString());
        ProgressLine refused = line(false, true);
        now.addAndGet(60 * ProgressLine.AUTO_AFTER_NANOS);
        refused.addItem();
        refused.done();
        assertEquals("", sink.toString());
        ProgressLine asked = line(true, false);
        asked.done();
        assertTrue(sink.toString().startsWith("\rcopying  0 files  0:00"), sink.toString());
    }

    @Test
    void withoutTotalsItCountsWithoutABar() {
        ProgressLine p = line(true, false);
        p.addItem();
        now.addAndGet(3_000_000_000L);
        p.addBytes(3 << 20);
        p.done();
        String last = sink.toString().substring(sink.toString().lastIndexOf('\r') + 1).strip();
        assertEquals("copying  1 files  3.0M  1.0M/s  0:03", last);
    }
}
