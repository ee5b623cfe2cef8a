package io.jrump.buildrules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rule checker itself: a clean little reactor passes, and each kind of breach is reported. */
class ArchitectureRulesTest {
    @TempDir
    Path root;

    @BeforeEach
    void cleanReactor() throws IOException {
        write("pom.xml", "<project><modules><module>hypercall</module><module>rump-net</module>"
                + "<module>hosts/jvm</module><module>cli</module></modules></project>");
        module("hypercall", "hypercall", "");
        module("rump-net", "rump-net", dep("io.jrump", "hypercall") + dep("io.netty", "netty-buffer"));
        module("hosts/jvm", "host-jvm", dep("io.jrump", "hypercall"));
        module("cli", "cli", dep("io.jrump", "rump-net") + dep("io.jrump", "host-jvm"));
        source("rump-net", "io/jrump/net/Tcp.java", """
                package io.jrump.net;
                import io.netty.buffer.ByteBuf;
                // System.nanoTime() in a comment is fine
                class Tcp { long now(io.jrump.hypercall.HostClock c) { return c.monotonicNanos(); } }
                """);
    }

    private void write(String path, String text) throws IOException {
        Path p = root.resolve(path);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text);
    }

    private static String dep(String group, String artifact) {
        return "<dependency><groupId>" + group + "</groupId><artifactId>" + artifact + "</artifactId></dependency>";
    }

    private void module(String dir, String artifact, String deps) throws IOException {
        write(dir + "/pom.xml", "<project><artifactId>" + artifact + "</artifactId>"
                + "<dependencyManagement><dependencies>" + dep("io.jrump", "cli") + "</dependencies>"
                + "</dependencyManagement><dependencies>" + deps + "</dependencies></project>");
    }

    private void source(String module, String path, String text) throws IOException {
        write(module + "/src/main/java/" + path, text);
    }

    private List<String> violations() throws IOException {
        return ArchitectureRules.check(root);
    }

    private void assertOneViolation(String... fragments) throws IOException {
        List<String> v = violations();
        assertEquals(1, v.size(), v.toString());
        for (String f : fragments) {
            assertTrue(v.get(0).contains(f), v.get(0) + " should mention " + f);
        }
    }

    @Test
    void aCleanReactorPasses() throws IOException {
        assertEquals(List.of(), violations());
    }

    @Test
    void aComponentDependingOnAHostIsReported() throws IOException {
        module("rump-net", "rump-net", dep("io.jrump", "hypercall") + dep("io.jrump", "host-jvm"));
        assertOneViolation("rump-net depends on io.jrump:host-jvm", "components never depend on a host");
    }

    @Test
    void aComponentsTestsMayRunOnAHost() throws IOException {
        module("rump-net", "rump-net", dep("io.jrump", "hypercall")
                + "<dependency><groupId>io.jrump</groupId><artifactId>host-sim</artifactId><scope>test</scope></dependency>");
        assertEquals(List.of(), violations());
    }

    @Test
    void aHostDependingOnAComponentIsReported() throws IOException {
        module("hosts/jvm", "host-jvm", dep("io.jrump", "hypercall") + dep("io.jrump", "rump-net"));
        assertOneViolation("host-jvm depends on io.jrump:rump-net", "hosts never depend on a component");
    }

    @Test
    void theFuzzKitSitsOnComponentsAndAHostAndOnlyToolsAndTestsUseIt() throws IOException {
        write("pom.xml", "<project><modules><module>hypercall</module><module>rump-net</module>"
                + "<module>hosts/jvm</module><module>cli</module><module>fuzz-kit</module><module>fuzz</module>"
                + "</modules></project>");
        module("fuzz-kit", "rump-fuzz-kit", dep("io.jrump", "rump-net") + dep("io.jrump", "host-jvm"));
        module("fuzz", "fuzz", dep("io.jrump", "rump-fuzz-kit"));
        module("rump-net", "rump-net", dep("io.jrump", "hypercall")
                + "<dependency><groupId>io.jrump</groupId><artifactId>rump-fuzz-kit</artifactId><scope>test</scope></dependency>");
        assertEquals(List.of(), violations());
        module("rump-net", "rump-net", dep("io.jrump", "hypercall") + dep("io.jrump", "rump-fuzz-kit"));
        assertOneViolation("rump-net depends on io.jrump:rump-fuzz-kit", "only the tools (and tests) depend on the fuzz kit");
    }

    @Test
    void dependingOnTheCliIsReported() throws IOException {
        module("hosts/jvm", "host-jvm", dep("io.jrump", "hypercall") + dep("io.jrump", "cli"));
        assertOneViolation("nothing may depend on cli, fuzz or bench");
    }

    @Test
    void theBuildRulesMayDependOnEveryModuleInTestScopeOnly() throws IOException {
        String cliInTests = "<dependency><groupId>io.jrump</groupId><artifactId>cli</artifactId>"
                + "<scope>test</scope></dependency>";
        module("build-rules", "build-rules", cliInTests);
        write("pom.xml", "<project><modules><module>hypercall</module><module>rump-net</module>"
                + "<module>hosts/jvm</module><module>cli</module><module>build-rules</module></modules></project>");
        assertEquals(List.of(), violations());
        module("build-rules", "build-rules", dep("io.jrump", "cli"));
        assertOneViolation("build-rules depends on io.jrump:cli", "nothing may depend on cli");
    }

    @Test
    void jnaOutsideTheLinuxHostIsReportedInPomsAndImports() throws IOException {
        module("hosts/jvm", "host-jvm", dep("io.jrump", "hypercall") + dep("net.java.dev.jna", "jna"));
        assertOneViolation("JNA belongs in hosts/linux only");
        module("hosts/jvm", "host-jvm", dep("io.jrump", "hypercall"));
        source("hosts/jvm", "io/jrump/host/jvm/Tap.java", "package io.jrump.host.jvm;\nimport com.sun.jna.Native;\nclass Tap {}\n");
        assertOneViolation("Tap.java", "imports com.sun.jna.Native");
    }

    @Test
    void hostImportsInAComponentAreReported() throws IOException {
        source("rump-net", "io/jrump/net/Bad.java", "package io.jrump.net;\nimport io.jrump.host.jvm.JvmHost;\nclass Bad {}\n");
        assertOneViolation("Bad.java", "components never depend on a host");
    }

    @Test
    void realTimeAndThreadsInAComponentAreReported() throws IOException {
        source("rump-net", "io/jrump/net/Timer.java",
                "package io.jrump.net;\nclass T { void f() throws Exception { Thread.sleep(5); } }\n");
        assertOneViolation("Timer.java", "Thread.sleep");
        Files.delete(root.resolve("rump-net/src/main/java/io/jrump/net/Timer.java"));
        source("hypercall", "io/jrump/kernel/K.java", "package io.jrump.kernel;\nclass K { long t = System .nanoTime(); }\n");
        assertOneViolation("K.java", "System .nanoTime");
    }

    @Test
    void slf4jAndHostkitInAComponentAreReported() throws IOException {
        source("rump-net", "io/jrump/net/Log.java", "package io.jrump.net;\nimport org.slf4j.Logger;\nclass Log {}\n");
        assertOneViolation("Log.java", "not SLF4J");
        Files.delete(root.resolve("rump-net/src/main/java/io/jrump/net/Log.java"));
        source("rump-net", "io/jrump/net/Log2.java",
                "package io.jrump.net;\nclass Log2 { Object l = org.slf4j.LoggerFactory.getLogger(Log2.class); }\n");
        assertOneViolation("Log2.java", "names org.slf4j");
        Files.delete(root.resolve("rump-net/src/main/java/io/jrump/net/Log2.java"));
        source("rump-net", "io/jrump/net/Kit.java", "package io.jrump.net;\nimport io.jrump.host.kit.FrameChecks;\nclass Kit {}\n");
        assertOneViolation("Kit.java", "components never depend on a host");
    }

    @Test
    void theContractDependingOnAnythingIsReported() throws IOException {
        module("hypercall", "hypercall", dep("org.slf4j", "slf4j-api"));
        assertOneViolation("hypercall depends on org.slf4j:slf4j-api", "the hypercall contract depends on nothing");
    }

    @Test
    void hostFilesOpenedByAComponentAreReported() throws IOException {
        String[] breaches = {
            "import java.nio.file.Files;\nclass A {}",
            "class A { Object o = java.nio.file.Files.newInputStream(null); }",
            "class A { void f(java.nio.file.Path p) throws Exception { java.nio.channels.FileChannel.open(p); } }",
            "import java.io.RandomAccessFile;\nclass A {}",
            "class A { Object f = new java.io.File(\"x\"); }",
        };
        for (String b : breaches) {
            source("rump-net", "io/jrump/net/A.java", "package io.jrump.net;\n" + b + "\n");
            List<String> v = violations();
            assertTrue(!v.isEmpty() && v.stream().allMatch(x -> x.contains("only through the host")), b + ": " + v);
        }
        source("rump-net", "io/jrump/net/A.java", "package io.jrump.net;\nclass A { String s = \"Files.copy(x)\"; "
                + "java.nio.file.Path p; Object f = MyFiles.open(); }\n");
        assertEquals(List.of(), violations());
    }

    @Test
    void codeAfterAStringHoldingSlashesIsStillChecked() throws IOException {
        source("rump-net", "io/jrump/net/Url.java",
                "package io.jrump.net;\nclass Url { String u = \"http://x\"; long t = System.nanoTime(); }\n");
        assertOneViolation("Url.java", "System.nanoTime");
        assertEquals("a \"   \" c   d", ArchitectureRules.stripComments("a \"//b\" c /* x */ d"));
        assertEquals("'  ' e ", ArchitectureRules.stripComments("'\\'' e // f"));
    }

    @Test
    void hostsMayUseRealTime() throws IOException {
        source("hosts/jvm", "io/jrump/host/jvm/Clock.java",
                "package io.jrump.host.jvm;\nclass Clock { long t = System.nanoTime(); }\n");
        assertEquals(List.of(), violations());
    }

    @Test
    void anAdapterMayRunThreadsButNeverDependsOnAHostAndOnlyToolsDependOnIt() throws IOException {
        write("pom.xml", "<project><modules><module>hypercall</module><module>rump-net</module>"
                + "<module>rump-netty</module><module>hosts/jvm</module><module>cli</module></modules></project>");
        module("rump-netty", "rump-netty", dep("io.jrump", "rump-net") + dep("io.netty", "netty-transport"));
        source("rump-netty", "io/jrump/netty/Loop.java",
                "package io.jrump.netty;\nclass Loop { long t = System.nanoTime(); Thread th = new Thread(() -> { }); }\n");
        module("cli", "cli", dep("io.jrump", "rump-netty") + dep("io.jrump", "host-jvm"));
        assertEquals(List.of(), violations());
        module("rump-netty", "rump-netty", dep("io.jrump", "rump-net") + dep("io.jrump", "host-jvm"));
        assertOneViolation("rump-netty depends on io.jrump:host-jvm", "adapters never depend on a host");
        module("rump-netty", "rump-netty", dep("io.jrump", "rump-net"));
        source("rump-netty", "io/jrump/netty/Bad.java", "package io.jrump.netty;\nimport io.jrump.host.jvm.JvmHost;\nclass Bad {}\n");
        assertOneViolation("Bad.java", "adapters never depend on a host");
        Files.delete(root.resolve("rump-netty/src/main/java/io/jrump/netty/Bad.java"));
        module("rump-net", "rump-net", dep("io.jrump", "hypercall") + dep("io.jrump", "rump-netty"));
        assertOneViolation("rump-net depends on io.jrump:rump-netty", "only the tools depend on an adapter");
    }
}
