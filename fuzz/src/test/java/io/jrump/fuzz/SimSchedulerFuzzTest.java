package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.HostScheduler.ScheduledTask;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The simulation scheduler against a model: arbitrary sequences of execute, executeAt (past and
 * future deadlines), cancel and runFor. After every step the tasks that ran, their order and the
 * clock they saw must be exactly what the model says: (time, submission) order, no task early,
 * cancelled tasks never, the clock at the end of each runFor.
 */
class SimSchedulerFuzzTest {

    /** A task in the model: when it is due, its submission number, whether it is still pending. */
    private static final class Expected {
        final long time;
        final int seq;
        boolean pending = true;

        Expected(long time, int seq) {
            this.time = time;
            this.seq = seq;
        }
    }

    @FuzzTest(maxDuration = "60s")
    void schedulerMatchesItsModel(FuzzedDataProvider data) {
        SimWorld world = new SimWorld(data.consumeLong());
        SimHost host = world.newHost("fuzz");
        List<Expected> model = new ArrayList<>();
        List<ScheduledTask> handles = new ArrayList<>();
        List<Integer> ran = new ArrayList<>();
        List<Long> ranAt = new ArrayList<>();
        int steps = data.consumeInt(0, 200);
        for (int step = 0; step < steps && data.remainingBytes() > 0; step++) {
            long now = world.now();
            switch (data.consumeInt(0, 3)) {
                case 0 -> {
                    int seq = model.size();
                    model.add(new Expected(now, seq));
                    handles.add(null);
                    host.scheduler().execute(() -> {
                        ran.add(seq);
                        ranAt.add(world.now());
                    });
                }
                case 1 -> {
                    int seq = model.size();
                    long deadline = now + data.consumeLong(-1_000_000, 10_000_000);
                    model.add(new Expected(deadline, seq));
                    handles.add(host.scheduler().executeAt(deadline, () -> {
                        ran.add(seq);
                        ranAt.add(world.now());
                    }));
                }
                case 2 -> {
                    if (!handles.isEmpty()) {
                        int i = data.consumeInt(0, handles.size() - 1);
                        ScheduledTask h = handles.get(i);
                        if (h != null) {
                            boolean expected = model.get(i).pending;
                            assertEquals(expected, h.cancel(), "cancel of task " + i);
                            model.get(i).pending = false;
                        }
                    }
                }
                default -> {
                    long d = data.consumeLong(0, 20_000_000);
                    int before = ran.size();
                    world.runFor(d);
                    List<Expected> due = model.stream().filter(e -> e.pending && e.time <= now + d)
                            .sorted(Comparator.<Expected>comparingLong(e -> e.time).thenComparingInt(e -> e.seq))
                            .toList();
                    assertEquals(due.stream().map(e -> e.seq).toList(), ran.subList(before, ran.size()));
                    long clock = now;
                    for (int k = 0; k < due.size(); k++) {
                        Expected e = due.get(k);
                        e.pending = false;
                        clock = Math.max(clock, e.time);
                        assertEquals(clock, ranAt.get(before + k), "task " + e.seq + " ran at the wrong time");
                    }
                    assertEquals(now + d, world.now());
                }
            }
            assertTrue(world.failures().isEmpty());
        }
    }
}
