package io.jrump.host.linux;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.conformance.HostConformanceSuite;
import io.jrump.hypercall.conformance.HostFixture;
import io.jrump.hypercall.conformance.RealTimeFixture;

/**
 * The Linux host against the conformance kit, with its block devices on {@code direct:} files (so
 * {@link LinuxBlockDevice} with {@code O_DIRECT}) and its NICs on in-process switches (TAP needs a
 * second end outside the host; {@link TapNicTest} covers it).
 */
class LinuxHostConformanceTest extends HostConformanceSuite {

    @Override
    protected HostFixture newFixture() throws Exception {
        return fixture(LinuxHost.DIRECT_PREFIX);
    }

    /** Linux hosts over JVM hosts on one private switch registry; device names start with {@code prefix}. */
    static HostFixture fixture(String prefix) throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        return new RealTimeFixture("conformance",
                name -> LinuxHost.over(JvmHost.builder().name(name).switches(switches).build()),
                (dir, stem) -> prefix + dir.resolve(stem + ".img"));
    }
}
