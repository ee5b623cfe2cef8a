package io.jrump.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CalloutTest {
    private ManualHost host;
    private RumpKernel kernel;
    private final List<String> fired = new ArrayList<>();

    @BeforeEach
    void boot() throws Exception {
        host = new ManualHost();
        kernel = RumpKernel.boot(host, BootOptions.defaults().withComponentInstances(List.of()));
    }

    @Test
    void firesOnceAtItsDeadline() {
        Callout c = kernel.newCallout("rexmt");
        c.schedule(100, () -> fired.add("rexmt@" + host.now));
        assertTrue(c.isPending());
        assertEquals(host.now + 100, c.deadlineNanos());
        host.advance(99);
        assertTrue(fired.isEmpty());
        host.advance(1);
        assertEquals(List.of("rexmt@1100"), fired);
        assertFalse(c.isPending());
        host.advance(1000);
        assertEquals(1, fired.size());
    }

    @Test
    void resetReplacesThePendingFiring() {
        Callout c = kernel.newCallout("delack");
        c.schedule(100, () -> fired.add("first"));
        c.schedule(300, () -> fired.add("second"));
        host.advance(1000);
        assertEquals(List.of("second"), fired);
        assertEquals(0, host.pendingTasks(), "the replaced firing was cancelled on the host");
    }

    @Test
    void resetsToLaterTimesKeepTheHostTimerAndStillFireAtTheLastDeadline() {
        Callout c = kernel.newCallout("rexmt");
        c.schedule(100, () -> fired.add("early"));
        for (int i = 1; i <= 50; i++) {
            host.advance(10);
            c.schedule(100, () -> fired.add("rexmt@" + host.now)); // as every ACK resets it
        }
        assertEquals(1, host.pendingTasks(), "one host timer all along");
        assertEquals(host.now + 100, c.deadlineNanos());
        host.advance(99);
        assertTrue(fired.isEmpty(), "not before the last deadline");
        host.advance(1);
        assertEquals(List.of("rexmt@" + host.now), fired);
        assertFalse(c.isPending());
        assertEquals(0, host.pendingTasks());
    }

    @Test
    void aResetToAnEarlierTimeReplacesTheHostTimer() {
        Callout c = kernel.newCallout("persist");
        c.schedule(500, () -> fired.add("late"));
        c.schedule(50, () -> fired.add("soon"));
        host.advance(50);
        assertEquals(List.of("soon"), fired);
        host.advance(1000);
        assertEquals(List.of("soon"), fired);
        assertEquals(0, host.pendingTasks());
    }

    @Test
    void stopCancelsAndReportsWhetherItWasPending() {
        Callout c = kernel.newCallout("keepalive");
        assertFalse(c.stop());
        c.schedule(10, () -> fired.add("x"));
        assertTrue(c.stop());
        assertFalse(c.isPending());
        host.advance(100);
        assertTrue(fired.isEmpty());
    }

    @Test
    void aCalloutCanRescheduleItselfFromItsFunction() {
        Callout c = kernel.newCallout("tick");
        Runnable[] tick = new Runnable[1];
        tick[0] = () -> {
            fired.add("t" + host.now);
            if (fired.size() < 3) {
                c.schedule(10, tick[0]);
            }
        };
        c.schedule(10, tick[0]);
        host.advance(100);
        assertEquals(List.of("t1010", "t1020", "t1030"), fired);
    }

    @Test
    void kernelShutdownCancelsPendingCallouts() {
        Callout a = kernel.newCallout("a");
        Callout b = kernel.newCallout("b");
        a.schedule(10, () -> fired.add("a"));
        b.schedule(20, () -> fired.add("b"));
        assertEquals(2, kernel.pendingCalloutCount());
        kernel.close();
        assertEquals(0, kernel.pendingCalloutCount());
        assertFalse(a.isPending());
        assertThrows(IllegalStateException.class, () -> a.schedule(10, () -> { }));
    }

    @Test
    void aCalloutSetWhileTheKernelShutsDownIsNotArmed() throws Exception {
        ManualHost h = new ManualHost();
        Callout[] late = new Callout[1];
        RuntimeException[] thrown = new RuntimeException[1];
        Component lingering = new Component() {
            @Override
            public String name() {
                return "lingering";
            }

            @Override
            public void start(RumpKernel k) {
                late[0] = k.newCallout("time-wait");
            }

            @Override
            public void stop() {
                try {
                    late[0].schedule(10, () -> fired.add("late")); // as queued protocol work may do
                } catch (RuntimeException e) {
                    thrown[0] = e;
                }
            }
        };
        RumpKernel k = RumpKernel.boot(h, BootOptions.defaults().withComponentInstances(List.of(lingering)));
        k.close();
        assertEquals(null, thrown[0], "setting a callout during shutdown is not an error");
        assertFalse(late[0].isPending());
        assertEquals(0, k.pendingCalloutCount());
        assertTrue(fired.isEmpty());
    }

    @Test
    void negativeDelaysAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> kernel.newCallout("x").schedule(-1, () -> { }));
    }
}
