package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.Jazzer;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs .clusterfuzzlite/build.sh (the OSS-Fuzz / ClusterFuzzLite build of every harness) the way
 * the base image's {@code compile} does, on a copy of the repository at $SRC/jrump, and then runs
 * some of the targets it produced for three seconds each on their zipped seeds and dictionaries.
 *
 * <p>What stands in for the base image here: its native {@code jazzer_driver} launcher is not in
 * Maven Central, so $OUT/jazzer_driver is oss-fuzz/local/jazzer_driver, which starts the standalone
 * Jazzer jar (com.code-intelligence:jazzer, on this module's test class path) with the launcher's
 * --cp/--jvm_args; that jar is also $OUT/jazzer_agent_deploy.jar, and jazzer-junit is
 * $OUT/jazzer_junit.jar. Maven runs offline (-o): this module's own build has already resolved
 * everything build.sh's Maven run needs. Nothing is skipped: a missing tool (mvn, zip) fails.
 *
 * <p>Building takes about a minute; running all 31 targets would take several more, so a subset
 * runs: the wire parsers, a stack, a disk image and a filesystem (see {@link #RUN}).
 */
class OssFuzzBuildTest {
    /** The targets run after the build: one per kind of harness, fast enough for three seconds. */
    private static final List<String> RUN = List.of(
            "WireFuzzTest_parsing",
            "DhcpMessageFuzzTest_parsing",
            "DnsMessageFuzzTest_parsing",
            "Ipv6PacketFuzzTest_parsing",
            "NetStackFuzzTest_framesIntoAStack",
            "Qcow2FuzzTest_openReadAndCheckAreTotal",
            "ExtFsFuzzTest_readingIsTotal");

    private static final Pattern FUZZ_TEST_METHOD =
            Pattern.compile("(?m)^\\s*@FuzzTest[^\\n]*\\n\\s*void (\\w+)\\(");

    @TempDir
    Path tmp;

    @Test
    void buildShBuildsEveryHarnessAndTheTargetsRunOnTheirSeeds() throws Exception {
        Path repo = repositoryRoot();
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path work = Files.createDirectories(tmp.resolve("work"));
        copySources(repo, src.resolve("jrump"));

        // What the base image's compile puts into $OUT before build.sh runs.
        Path jazzerJar = jarOf(Jazzer.class);
        Files.copy(jazzerJar, out.resolve("jazzer_agent_deploy.jar"));
        Files.copy(jarOf(FuzzTest.class), out.resolve("jazzer_junit.jar"));
        Files.copy(repo.resolve("oss-fuzz/local/jazzer_driver"), out.resolve("jazzer_driver"));
        assertTrue(out.resolve("jazzer_driver").toFile().setExecutable(true));

        String javaHome = System.getProperty("java.home");
        Map<String, String> env = Map.of(
                "SRC", src.toString(),
                "OUT", out.toString(),
                "WORK", work.toString(),
                "JAVA_HOME", javaHome,
                "JVM_LD_LIBRARY_PATH", javaHome + "/lib/server",
                "FUZZING_LANGUAGE", "jvm",
                "FUZZING_ENGINE", "libfuzzer",
                "SANITIZER", "address",
                "ARCHITECTURE", "x86_64",
                "JRUMP_MAVEN_ARGS", "-o -q");
        Path buildLog = tmp.resolve("build.log");
        int rc = run(List.of("bash", src.resolve("jrump/.clusterfuzzlite/build.sh").toString()),
                env, src.resolve("jrump"), buildLog, 300);
        assertEquals(0, rc, () -> "build.sh failed:\n" + tail(buildLog));

        // One executable target per @FuzzTest method, with its seeds and (for the formats) a dictionary.
        List<String> targets = fuzzTestTargets(repo);
        assertTrue(targets.size() >= 30, "harnesses found: " + targets);
        for (String target : targets) {
            Path wrapper = out.resolve(target);
            assertTrue(Files.isExecutable(wrapper), "no target " + wrapper);
            String script = Files.readString(wrapper);
            assertTrue(script.contains("LLVMFuzzerTestOneInput"), target + ": not recognised as a fuzz target");
            assertTrue(!script.contains(src.toString()) && !script.contains(repo.toString()),
                    target + ": wrapper names build paths, not $this_dir");
            Path seeds = seedDir(repo, target);
            if (Files.isDirectory(seeds)) {
                assertEquals(fileNames(seeds), zipNames(out.resolve(target + "_seed_corpus.zip")),
                        target + ": seed corpus zip");
            }
        }
        for (String target : List.of("WireFuzzTest_parsing", "Ipv6PacketFuzzTest_parsing",
                "DhcpMessageFuzzTest_parsing", "Dhcp6MessageFuzzTest_parsing", "DnsMessageFuzzTest_parsing",
                "ExtFsFuzzTest_readingIsTotal", "Qcow2FuzzTest_openReadAndCheckAreTotal")) {
            assertTrue(Files.size(out.resolve(target + ".dict")) > 0, target + ".dict");
        }

        // Each target of the subset starts, reads its unzipped seeds, fuzzes three seconds and exits 0.
        for (String target : RUN) {
            Path corpus = Files.createDirectories(tmp.resolve("corpus").resolve(target));
            int seeds = unzip(out.resolve(target + "_seed_corpus.zip"), corpus);
            assertTrue(seeds > 0, target + ": no seeds");
            Path cwd = Files.createDirectories(tmp.resolve("run").resolve(target));
            Path log = tmp.resolve(target + ".log");
            Map<String, String> runEnv = Map.of(
                    "JAVA_HOME", javaHome,
                    "JVM_LD_LIBRARY_PATH", javaHome + "/lib/server",
                    "JAZZER_STANDALONE_JAR", out.resolve("jazzer_agent_deploy.jar").toString());
            int exit = run(List.of(out.resolve(target).toString(), "-max_total_time=3",
                    "-dict=" + out.resolve(target + ".dict"), corpus.toString()), runEnv, cwd, log, 90);
            String text = Files.readString(log);
            assertEquals(0, exit, () -> target + " exited " + exit + ":\n" + tail(log));
            Matcher found = Pattern.compile("(\\d+) files found in " + Pattern.quote(corpus.toString()))
                    .matcher(text);
            assertTrue(found.find(), () -> target + ": did not read its corpus:\n" + tail(log));
            assertEquals(seeds, Integer.parseInt(found.group(1)), target + ": seeds read");
            assertTrue(text.contains("Dictionary: "), target + ": dictionary not loaded");
            assertTrue(Pattern.compile("Done \\d+ runs").matcher(text).find(),
                    () -> target + ": did not finish:\n" + tail(log));
        }
    }

    private static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve(".clusterfuzzlite/build.sh"))) {
                return d;
            }
        }
        throw new AssertionError("no .clusterfuzzlite/build.sh above " + dir);
    }

    /** The repository without build output and git metadata, as a fresh checkout at $SRC/jrump. */
    private static void copySources(Path from, Path to) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
                if (!dir.equals(from) && (name.equals("target") || name.equals(".git"))) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
                Files.createDirectories(to.resolve(from.relativize(dir).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) {
                    Files.copy(file, to.resolve(from.relativize(file).toString()),
                            StandardCopyOption.COPY_ATTRIBUTES);
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static Path jarOf(Class<?> type) throws URISyntaxException {
        Path jar = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isRegularFile(jar), type + " is not loaded from a jar: " + jar);
        return jar;
    }

    /** Class_method for every @FuzzTest method in the harness sources. */
    private static List<String> fuzzTestTargets(Path repo) throws IOException {
        List<String> targets = new ArrayList<>();
        try (Stream<Path> files = Files.list(repo.resolve("fuzz/src/test/java/io/jrump/fuzz"))) {
            for (Path file : files.sorted().toList()) {
                String cls = file.getFileName().toString().replaceFirst("\\.java$", "");
                Matcher m = FUZZ_TEST_METHOD.matcher(Files.readString(file));
                while (m.find()) {
                    targets.add(cls + "_" + m.group(1));
                }
            }
        }
        return targets;
    }

    private static Path seedDir(Path repo, String target) {
        int sep = target.indexOf('_');
        return repo.resolve("fuzz/src/test/resources/io/jrump/fuzz")
                .resolve(target.substring(0, sep) + "Inputs").resolve(target.substring(sep + 1));
    }

    private static TreeSet<String> fileNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
                    .collect(java.util.stream.Collectors.toCollection(TreeSet::new));
        }
    }

    private static TreeSet<String> zipNames(Path zip) throws IOException {
        TreeSet<String> names = new TreeSet<>();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                names.add(e.getName());
            }
        }
        return names;
    }

    private static int unzip(Path zip, Path dir) throws IOException {
        int n = 0;
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                Path file = dir.resolve(e.getName()).normalize();
                assertTrue(file.startsWith(dir) && !e.isDirectory(), "zip entry " + e.getName());
                Files.copy(in, file);
                n++;
            }
        }
        return n;
    }

    private static int run(List<String> command, Map<String, String> env, Path cwd, Path log, long seconds)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail(command.get(0) + " still running after " + seconds + " s:\n" + tail(log));
        }
        return p.exitValue();
    }

    private static String tail(Path log) {
        try (InputStream in = Files.newInputStream(log)) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return text.substring(Math.max(0, text.length() - 4000));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
