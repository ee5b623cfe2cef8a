package io.jrump.host.jvm;

import io.jrump.hypercall.conformance.HostConformanceSuite;
import io.jrump.hypercall.conformance.HostFixture;

/** The JVM host against the conformance kit again, with memory disks ({@code mem:NAME}). */
class JvmHostMemoryDiskConformanceTest extends HostConformanceSuite {
    @Override
    protected HostFixture newFixture() throws Exception {
        return JvmHostConformanceTest.fixture(true);
    }
}
