package io.jrump.host.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.jna.Library;
import com.sun.jna.Native;
import org.junit.jupiter.api.Test;

/**
 * The Linux host will reach the kernel through JNA; this shows the binding loads on this machine
 * and a call crosses it and back with the right answer.
 */
class NativeBindingTest {
    interface LibC extends Library {
        int getpid();
    }

    @Test
    void libcIsReachableThroughJna() {
        LibC libc = Native.load("c", LibC.class);
        assertEquals(ProcessHandle.current().pid(), libc.getpid());
    }
}
