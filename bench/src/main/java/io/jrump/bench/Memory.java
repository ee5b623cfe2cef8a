package io.jrump.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

/**
 * The JVM's peak heap use, for the whole-process benchmarks' report lines: the most the heap held
 * at any one moment. Heap use peaks just before a collection, so this is the largest of the heap
 * totals each collection reports from before it ran (all pools at the same instant), and of the
 * total now. (Adding up each pool's own peak, as this class did before, added peaks from
 * different moments: an old generation's peak at the end to a young one's from any time.)
 * Call {@link #watch()} first thing in {@code main}; collections before it are not seen.
 */
public final class Memory {
    private static final AtomicLong PEAK = new AtomicLong();

    static {
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter emitter) {
                emitter.addNotificationListener((notification, handback) -> {
                    if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
                        GarbageCollectionNotificationInfo info =
                                GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
                        record(heapTotal(info.getGcInfo().getMemoryUsageBeforeGc()));
                    }
                }, null, null);
            }
        }
    }

    private Memory() {
    }

    /** Starts watching collections (loading this class does it); returns at once. */
    public static void watch() {
        record(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }

    public static double peakHeapMib() {
        watch();
        return PEAK.get() / 1048576.0;
    }

    private static void record(long used) {
        PEAK.accumulateAndGet(used, Math::max);
    }

    private static long heapTotal(Map<String, MemoryUsage> byPool) {
        long total = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage u = byPool.get(pool.getName());
            if (pool.getType() == MemoryType.HEAP && u != null) {
                total += u.getUsed();
            }
        }
        return total;
    }
}
