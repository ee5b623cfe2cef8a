package io.jrump.host.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class LinuxHostProviderTest {
    @Test
    void serviceLoaderFindsTheLinuxHostAvailableHereAndItMakesOne() {
        HostProvider linux = ServiceLoader.load(HostProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("linux")).findFirst().orElseThrow();
        assertEquals(java.util.Optional.empty(), linux.unavailableReason());
        assertEquals(Hypercalls.VERSION, linux.hypercallVersion());
        try (Hypercalls h = linux.createDefault("svc").orElseThrow()) {
            assertTrue(h instanceof LinuxHost);
            assertEquals("linux:svc", h.name());
            assertEquals(Hypercalls.VERSION, h.version());
        }
    }
}
