package io.jrump.host.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class SimHostProviderTest {
    @Test
    void theServiceLoaderFindsTheSimulationHost() {
        HostProvider sim = ServiceLoader.load(HostProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("sim"))
                .findFirst()
                .orElseThrow();
        assertEquals(Hypercalls.VERSION, sim.hypercallVersion());
        assertTrue(sim.unavailableReason().isEmpty());
        assertEquals(2, sim.deviceNames().size());
    }
}
