package io.jrump.host.linux;

import io.jrump.hypercall.conformance.HostConformanceSuite;
import io.jrump.hypercall.conformance.HostFixture;

/** The Linux host against the conformance kit again, with plain paths: files the JVM host serves. */
class LinuxHostFileConformanceTest extends HostConformanceSuite {
    @Override
    protected HostFixture newFixture() throws Exception {
        return LinuxHostConformanceTest.fixture("");
    }
}
