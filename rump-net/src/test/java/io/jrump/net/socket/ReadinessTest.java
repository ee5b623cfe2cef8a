package io.jrump.net.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class ReadinessTest {
    @Test
    void waitersWakeOnWhatTheyWantOrOnErrorsAndListenersHearEveryChange() {
        Readiness r = new Readiness();
        List<Integer> heard = new ArrayList<>();
        r.addListener(heard::add);
        CompletableFuture<Integer> in = r.when(Readiness.POLLIN);
        CompletableFuture<Integer> out = r.when(Readiness.POLLOUT);
        r.add(Readiness.POLLOUT);
        assertFalse(in.isDone());
        assertEquals(Readiness.POLLOUT, out.join());
        r.add(Readiness.POLLHUP);
        assertEquals(Readiness.POLLHUP, in.join(), "a hang-up wakes every waiter");
        assertEquals(List.of(Readiness.POLLOUT, Readiness.POLLOUT | Readiness.POLLHUP), heard);
        assertTrue(r.when(Readiness.POLLIN).isDone(), "already there: no wait");
    }

    @Test
    void aWokenWaiterMayWaitAgainAtOnce() {
        Readiness r = new Readiness();
        int[] rounds = {0};
        CompletableFuture<Integer> again = new CompletableFuture<>();
        r.when(Readiness.POLLOUT).thenRun(() -> {
            rounds[0]++;
            r.when(Readiness.POLLIN).thenAccept(again::complete); // registers while set() is waking
        });
        r.add(Readiness.POLLOUT);
        assertEquals(1, rounds[0]);
        assertFalse(again.isDone());
        r.add(Readiness.POLLIN);
        assertEquals(Readiness.POLLIN, again.join() & Readiness.POLLIN);
    }
}
