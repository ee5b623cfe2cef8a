package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/logging.md's program, compiled from the Markdown and run in JVMs of its own on jrump's
 * libraries only (not this module's classes, whose simplelogger.properties is the rump command's):
 * with slf4j-simple the kernel console's INFO lines appear on stderr as the guide shows them;
 * without any SLF4J provider the program still runs, and SLF4J says why nothing is logged.
 */
class LoggingGuideTest {
    private static final Pattern JAVA_BLOCK = Pattern.compile("(?m)^```java\n(.*?)^```", Pattern.DOTALL);

    @TempDir
    Path out;

    record Run(int exit, String stdout, String stderr) {
    }

    @Test
    void theGuidesProgramLogsThroughSlf4jSimpleAndRunsWithoutAProvider() throws Exception {
        compile(program());
        List<String> libraries = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.endsWith("/cli/target/classes") && !e.endsWith("/cli/target/test-classes"))
                .toList();
        List<String> withSimple = new ArrayList<>(libraries);
        withSimple.add(0, out.toString());
        Run simple = run(withSimple, "-Dorg.slf4j.simpleLogger.log.io.jrump.console=info");
        assertEquals(0, simple.exit(), simple.stderr());
        assertEquals("mounted: []\n", simple.stdout());
        for (String expected : List.of(
                "INFO io.jrump.console - [demo] jrump kernel rump booting on host jvm:demo (hypercall version ",
                "INFO io.jrump.console - [demo] jrump kernel rump running: blk vfs",
                "INFO io.jrump.console - [demo] jrump kernel rump halted")) {
            assertTrue(simple.stderr().contains(expected), "missing '" + expected + "' in:\n" + simple.stderr() + "\nclass path: " + withSimple);
        }

        List<String> bare = new ArrayList<>(withSimple);
        bare.removeIf(e -> Path.of(e).getFileName().toString().startsWith("slf4j-simple"));
        Run none = run(bare);
        assertEquals(0, none.exit(), none.stderr());
        assertEquals("mounted: []\n", none.stdout());
        assertTrue(none.stderr().contains("No SLF4J providers were found"), none.stderr());
        assertTrue(!none.stderr().contains("booting"), "INFO lines need a provider:\n" + none.stderr());
    }

    /** The rump command brings its own provider and set-up: quiet by default, the kernel's INFO lines with -v. */
    @Test
    void theRumpCommandConfiguresItsOwnLogging() throws Exception {
        Path img = out.resolve("e4.img");
        Process mkfs = new ProcessBuilder("mke2fs", "-q", "-F", "-t", "ext4", img.toString(), "8M").redirectErrorStream(true).start();
        mkfs.getInputStream().readAllBytes();
        assertEquals(0, mkfs.waitFor());
        List<String> cp = Arrays.asList(System.getProperty("java.class.path").split(File.pathSeparator));
        Run quiet = runMain(cp, "io.jrump.cli.Rump", "fs", "ls", img + ":/");
        assertEquals(0, quiet.exit(), quiet.stderr());
        assertEquals("lost+found\n", quiet.stdout());
        assertEquals("", quiet.stderr(), "warnings and errors only, and there are none");
        Run verbose = runMain(cp, "io.jrump.cli.Rump", "-v", "fs", "ls", img + ":/");
        assertTrue(verbose.stderr().lines().anyMatch(l -> l.matches("INFO console - \\[rump-fs\\] jrump kernel \\S+ booting on host .*")),
                verbose.stderr());
        assertTrue(!verbose.stderr().contains("SLF4J"), "a provider is there: " + verbose.stderr());
    }

    private static String program() throws Exception {
        Matcher m = JAVA_BLOCK.matcher(Files.readString(Path.of("../docs/logging.md")));
        while (m.find()) {
            if (m.group(1).contains("public class Booting ")) {
                return m.group(1);
            }
        }
        throw new AssertionError("docs/logging.md has no java block declaring public class Booting");
    }

    private void compile(String source) {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        JavaFileObject file = new SimpleJavaFileObject(URI.create("string:///Booting.java"), JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return source;
            }
        };
        java.io.StringWriter diagnostics = new java.io.StringWriter();
        boolean ok = javac.getTask(diagnostics, null, null, List.of("-d", out.toString(), "-classpath",
                System.getProperty("java.class.path"), "-proc:none"), null, List.of(file)).call();
        assertTrue(ok, "docs/logging.md's Booting does not compile:\n" + diagnostics);
    }

    private static Run run(List<String> classPath, String... jvmOptions) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-cp", String.join(File.pathSeparator, classPath), "Booting"));
        return exec(cmd);
    }

    private static Run runMain(List<String> classPath, String main, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                String.join(File.pathSeparator, classPath), main));
        cmd.addAll(List.of(args));
        return exec(cmd);
    }

    private static Run exec(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).start();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (java.io.IOException e) {
                return new byte[0];
            }
        });
        byte[] stdout = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "Booting did not end");
        return new Run(p.exitValue(), new String(stdout, StandardCharsets.UTF_8), new String(err.get(), StandardCharsets.UTF_8));
    }
}
