package io.jrump.fs;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** A component runs on any host, so no host may be on its class path (ARCHITECTURE.md). */
class ModuleBoundaryTest {
    @Test
    void noHostIsOnTheClassPath() {
        for (String host : new String[] {"io.jrump.host.jvm.JvmHost", "io.jrump.host.sim.SimWorld"}) {
            assertThrows(ClassNotFoundException.class, () -> Class.forName(host), host);
        }
    }
}
