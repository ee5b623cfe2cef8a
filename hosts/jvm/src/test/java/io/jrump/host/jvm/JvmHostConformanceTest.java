package io.jrump.host.jvm;

import io.jrump.hypercall.conformance.HostConformanceSuite;
import io.jrump.hypercall.conformance.HostFixture;
import io.jrump.hypercall.conformance.RealTimeFixture;

/** The JVM host against the conformance kit, with file-backed devices in a temporary directory. */
class JvmHostConformanceTest extends HostConformanceSuite {

    @Override
    protected HostFixture newFixture() throws Exception {
        return fixture(false);
    }

    /** JVM hosts on one private switch registry; devices are files, or memory disks if {@code memory}. */
    static HostFixture fixture(boolean memory) throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        return new RealTimeFixture("conformance", name -> JvmHost.builder().name(name).switches(switches).build(),
                (dir, stem) -> memory ? JvmHost.MEMORY_PREFIX + stem : dir.resolve(stem + ".img").toString());
    }
}
