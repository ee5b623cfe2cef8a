package io.jrump.buildrules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code examples/consumer} — a Maven project outside the reactor that imports {@code jrump-bom},
 * depends on rump-net, rump-fs and host-jvm without versions, runs two TCP/IP stacks and reads an
 * ext4 image made by mke2fs, and has a Jazzer harness written from docs/fuzzing.md with the fuzz
 * kit (ExtImageFuzzTest, run on its seeds) and a test replaying a planted finding through it
 * (FindingReplayTest) — builds and passes its tests against the jars this build just made, and
 * against no other jrump artifact.
 *
 * <p>How: the published jars (with sources, javadoc and test-jars), their POMs, jrump-parent and
 * jrump-bom are laid out as a local repository in {@code build-rules/target/consumer-it/repository},
 * as {@code mvn install} would, and the copy of the consumer is built there with
 * <pre>
 * mvn -B -q -s settings.xml -Dmaven.repo.local=target/consumer-it/repository verify
 * </pre>
 * where settings.xml mirrors every repository to this build's own local repository (a
 * {@code file:} URL), for the third-party artifacts only: that mirror serves no snapshots, so a
 * stale jrump in {@code ~/.m2} cannot stand in for a missing published artifact, and nothing is
 * fetched from the network. Uses the Maven that runs this build ({@code maven.home}), else the
 * {@code mvn} on the PATH; fails if there is none.
 */
class ConsumerProjectIT {
    private static final Pattern SUITE = Pattern.compile(
            "<testsuite[^>]*?tests=\"(\\d+)\"[^>]*?errors=\"(\\d+)\"[^>]*?skipped=\"(\\d+)\"[^>]*?failures=\"(\\d+)\"");

    @Test
    void theConsumerBuildsAgainstThePublishedArtifactsAlone() throws Exception {
        Path root = PublishedJarsIT.root();
        String version = ReleaseArtifacts.version(root);
        Path work = root.resolve("build-rules/target/consumer-it");
        Path repo = work.resolve("repository");
        deleteTree(repo.resolve("io/jrump")); // third-party artifacts stay, for the next run's speed
        deleteTree(work.resolve("consumer"));

        for (ReleaseArtifacts.Module m : ReleaseArtifacts.publishedJars(root)) {
            Path dir = install(repo, m.artifactId(), version, root.resolve(m.dir()).resolve("pom.xml"));
            String base = m.artifactId() + "-" + version;
            for (String classifier : List.of("", "-sources", "-javadoc", "-tests")) {
                Path jar = root.resolve(m.dir()).resolve("target").resolve(base + classifier + ".jar");
                if (classifier.isEmpty() || classifier.equals("-sources")) {
                    PublishedJarsIT.built(root, root.relativize(jar).toString());
                }
                if (Files.isRegularFile(jar)) {
                    Files.copy(jar, dir.resolve(jar.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        install(repo, "jrump-parent", version, root.resolve("pom.xml"));
        install(repo, ReleaseArtifacts.BOM, version, root.resolve(ReleaseArtifacts.BOM_DIR).resolve("pom.xml"));

        Path consumer = work.resolve("consumer");
        copyTree(root.resolve("examples/consumer"), consumer);
        Path localRepository = Path.of(System.getProperty("jrump.localRepository",
                System.getProperty("user.home") + "/.m2/repository")).toAbsolutePath();
        Path settings = work.resolve("settings.xml");
        Files.writeString(settings, """
                <settings>
                  <mirrors>
                    <mirror>
                      <id>this-build</id>
                      <mirrorOf>*</mirrorOf>
                      <url>%s</url>
                    </mirror>
                  </mirrors>
                </settings>
                """.formatted(localRepository.toUri()));

        List<String> command = new ArrayList<>(List.of(mvn(), "-B", "-q", "-s", settings.toString(),
                "-Dmaven.repo.local=" + repo, "-Djrump.version=" + version, "-f", consumer.resolve("pom.xml").toString(),
                "verify"));
        Path log = work.resolve("mvn.log");
        Process p = new ProcessBuilder(command).directory(consumer.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " took over 5 minutes; its output: " + log);
        }
        assertEquals(0, p.exitValue(), () -> String.join(" ", command) + " failed:\n" + tail(log));

        Map<String, Integer> tests = new TreeMap<>();
        try (Stream<Path> reports = Files.list(consumer.resolve("target/surefire-reports"))) {
            for (Path r : reports.filter(f -> f.getFileName().toString().matches("TEST-.*\\.xml")).toList()) {
                Matcher s = SUITE.matcher(Files.readString(r));
                assertTrue(s.find(), r + ": no testsuite");
                assertEquals("0 0 0", s.group(2) + " " + s.group(3) + " " + s.group(4), r + ": errors skipped failures");
                tests.put(r.getFileName().toString().replaceAll("^TEST-com\\.example\\.consumer\\.|\\.xml$", ""),
                        Integer.parseInt(s.group(1)));
            }
        }
        assertEquals(2, tests.get("EmbeddedTest"), "TCP between two stacks, an ext4 image from mke2fs: " + tests);
        // The harness written from docs/fuzzing.md, in regression mode: one run per seed file.
        int seeds;
        try (Stream<Path> files = Files.list(consumer.resolve(
                "src/test/resources/com/example/consumer/ExtImageFuzzTestInputs/mountAndRead"))) {
            seeds = (int) files.count();
        }
        assertTrue(seeds >= 4 && tests.getOrDefault("ExtImageFuzzTest", 0) >= seeds,
                "every seed of ExtImageFuzzTest ran: " + seeds + " seeds, " + tests);
        assertEquals(1, tests.get("FindingReplayTest"), "the planted finding replayed: " + tests);
    }

    /** Lays {@code pom} out as {@code io.jrump:artifact:version}'s POM; returns its folder. */
    private static Path install(Path repo, String artifact, String version, Path pom) throws IOException {
        Path dir = Files.createDirectories(repo.resolve("io/jrump").resolve(artifact).resolve(version));
        Files.copy(pom, dir.resolve(artifact + "-" + version + ".pom"), StandardCopyOption.REPLACE_EXISTING);
        return dir;
    }

    /** The Maven running this build, else the one on the PATH; fails if there is none. */
    private static String mvn() {
        String home = System.getProperty("jrump.mavenHome", "");
        if (!home.isEmpty() && Files.isExecutable(Path.of(home, "bin", "mvn"))) {
            return Path.of(home, "bin", "mvn").toString();
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "mvn"))) {
                return Path.of(d, "mvn").toString();
            }
        }
        return fail("no Maven: neither maven.home (" + home + ") nor the PATH has bin/mvn (Debian package maven)");
    }

    private static String tail(Path log) {
        List<String> lines;
        try {
            lines = Files.readAllLines(log);
        } catch (IOException e) {
            return log + ": " + e;
        }
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.filter(f -> !from.relativize(f).startsWith("target")).toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(f, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }
}
