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

/**
 * The BOM and the Automatic-Module-Names: this repository keeps the rules of
 * {@link ReleaseArtifacts}, and each kind of breach is reported on a small reactor.
 */
class ReleaseArtifactsTest {
    @TempDir
    Path root;

    @Test
    void theRepositoryPublishesWhatItsBomLists() throws IOException {
        Path repo = Path.of(System.getProperty("jrump.root", "..")).toAbsolutePath().normalize();
        List<String> violations = ReleaseArtifacts.check(repo);
        assertEquals(List.of(), violations, () -> String.join("\n", violations));
        List<String> published = ReleaseArtifacts.publishedJars(repo).stream().map(ReleaseArtifacts.Module::artifactId).toList();
        assertTrue(published.containsAll(List.of("hypercall", "rump-blk", "rump-fs", "rump-net", "host-jvm", "host-sim",
                "host-linux", "cli")), published::toString);
        assertTrue(published.stream().noneMatch(List.of("fuzz", "bench", "build-rules")::contains), published::toString);
    }

    @BeforeEach
    void smallReactor() throws IOException {
        write("pom.xml", "<project><version>1.0</version><modules><module>bom</module><module>net</module>"
                + "<module>fuzz</module></modules></project>");
        write("bom/pom.xml", bom(managed("rump-net")));
        module("net", "rump-net", "io.jrump.net", false);
        source("net", "io/jrump/net/Tcp.java");
        module("fuzz", "fuzz", "io.jrump.fuzz", true);
        source("fuzz", "io/jrump/fuzz/Harness.java");
    }

    private void write(String path, String text) throws IOException {
        Path p = root.resolve(path);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text);
    }

    private static String bom(String dependencies) {
        return "<project><groupId>io.jrump</groupId><artifactId>jrump-bom</artifactId><version>1.0</version>"
                + "<packaging>pom</packaging><dependencyManagement><dependencies>" + dependencies
                + "</dependencies></dependencyManagement></project>";
    }

    private static String managed(String artifact) {
        return "<dependency><groupId>io.jrump</groupId><artifactId>" + artifact
                + "</artifactId><version>${project.version}</version></dependency>";
    }

    private void module(String dir, String artifact, String moduleName, boolean internal) throws IOException {
        write(dir + "/pom.xml", "<project><artifactId>" + artifact + "</artifactId><properties><jrump.moduleName>"
                + moduleName + "</jrump.moduleName>" + (internal ? "<maven.deploy.skip>true</maven.deploy.skip>" : "")
                + "</properties></project>");
    }

    private void source(String dir, String path) throws IOException {
        write(dir + "/src/main/java/" + path, "class X {}\n");
    }

    private void assertOneViolation(String... fragments) throws IOException {
        List<String> v = ReleaseArtifacts.check(root);
        assertEquals(1, v.size(), v.toString());
        for (String f : fragments) {
            assertTrue(v.get(0).contains(f), v.get(0) + " should mention " + f);
        }
    }

    @Test
    void aCleanReactorPasses() throws IOException {
        assertEquals(List.of(), ReleaseArtifacts.check(root));
    }

    @Test
    void aPublishedModuleMissingFromTheBomIsReported() throws IOException {
        write("pom.xml", "<project><version>1.0</version><modules><module>bom</module><module>net</module>"
                + "<module>kit</module></modules></project>");
        module("kit", "host-kit", "io.jrump.hostkit", false);
        source("kit", "io/jrump/hostkit/Kit.java");
        assertOneViolation("does not list the published module host-kit", "maven.deploy.skip");
    }

    @Test
    void anInternalModuleInTheBomIsReported() throws IOException {
        write("bom/pom.xml", bom(managed("rump-net") + managed("fuzz")));
        assertOneViolation("lists fuzz, which is internal");
    }

    @Test
    void aBomThatWouldPinThirdPartyVersionsIsReported() throws IOException {
        write("bom/pom.xml", bom(managed("rump-net")).replace("<groupId>io.jrump</groupId><artifactId>jrump-bom",
                "<parent><artifactId>jrump-parent</artifactId></parent><groupId>io.jrump</groupId><artifactId>jrump-bom"));
        assertOneViolation("has a parent");
        write("bom/pom.xml", bom(managed("rump-net") + "<dependency><groupId>io.netty</groupId>"
                + "<artifactId>netty-bom</artifactId><version>4.2.18.Final</version></dependency>"));
        assertOneViolation("manages io.netty:netty-bom", "only io.jrump");
        write("bom/pom.xml", bom(managed("rump-net")).replace("1.0", "0.9"));
        assertOneViolation("version 0.9 is not the reactor's 1.0");
    }

    @Test
    void moduleNamesMustBeValidUniqueAndTheModulesOwn() throws IOException {
        module("fuzz", "fuzz", "io.jrump.net", true);
        assertOneViolation("fuzz/pom.xml", "io.jrump.net is also net's");
        module("fuzz", "fuzz", "io.jrump.fuzzing", true);
        assertOneViolation("fuzz/pom.xml", "names no package of the module");
        module("fuzz", "fuzz", "io.jrump.rump-fuzz", true);
        assertOneViolation("fuzz/pom.xml", "is not a module name");
        module("fuzz", "fuzz", "", true);
        assertOneViolation("fuzz/pom.xml", "sets no jrump.moduleName");
    }

    @Test
    void aPackageSplitOverTwoModulesIsReported() throws IOException {
        source("fuzz", "io/jrump/net/Helper.java");
        assertOneViolation("package io.jrump.net is also in net");
    }
}
