package io.jrump.cli;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Where the harnesses and Jazzer are: the class path {@code rump fuzz} loads harnesses from and
 * hands to the fuzzing JVM, and the standalone Jazzer jar (driver, agent and libFuzzer) that JVM
 * runs. Either the user's {@code --classpath}, or jrump's own harnesses in a source checkout: the
 * fuzz module's test classes and the test class path its POM writes to
 * {@code fuzz/target/oss-fuzz.classpath} (the file .clusterfuzzlite/build.sh reads too).
 */
record FuzzClassPath(List<Path> entries, Path jazzerJar) {
    /** The command that writes fuzz/target/test-classes and fuzz/target/oss-fuzz.classpath. */
    static final String BUILD_COMMAND = "mvn test-compile -pl fuzz -am";
    static final String JAZZER_ENV = "JAZZER_STANDALONE_JAR";
    /** com.code-intelligence:jazzer's jar as Maven names it, e.g. jazzer-0.30.0.jar (not jazzer-junit, jazzer-api). */
    private static final Pattern JAZZER_JAR = Pattern.compile("jazzer-\\d[^/]*\\.jar");

    /**
     * @param classPath {@code --classpath}, or null for jrump's own harnesses
     * @param project {@code --project}, or null to look upwards from {@code cwd}
     * @param jazzer {@code --jazzer}, or null for $JAZZER_STANDALONE_JAR or the jar on the class path
     */
    static FuzzClassPath resolve(String classPath, Path project, Path jazzer, String jazzerEnv, Path cwd)
            throws FuzzSetupException {
        List<Path> entries = new ArrayList<>();
        if (classPath != null) {
            for (String e : classPath.split(Pattern.quote(File.pathSeparator))) {
                if (!e.isBlank() && Files.exists(Path.of(e))) { // as java does, a missing entry is no error
                    entries.add(Path.of(e).toAbsolutePath());
                }
            }
            if (entries.isEmpty()) {
                throw new FuzzSetupException("nothing of --classpath exists: " + classPath);
            }
        } else {
            Path root = project != null ? project.toAbsolutePath() : checkoutAbove(cwd);
            if (!Files.isRegularFile(root.resolve("fuzz/pom.xml"))) {
                throw new FuzzSetupException(root + " is not a jrump checkout (no fuzz/pom.xml)");
            }
            Path testClasses = root.resolve("fuzz/target/test-classes");
            Path file = root.resolve("fuzz/target/oss-fuzz.classpath");
            if (!Files.isDirectory(testClasses) || !Files.isRegularFile(file)) {
                throw new FuzzSetupException("the fuzz module is not built (" + root.relativize(file)
                        + " is missing): run '" + BUILD_COMMAND + "' in " + root);
            }
            entries.add(testClasses);
            try {
                for (String e : Files.readString(file).trim().split(Pattern.quote(File.pathSeparator))) {
                    if (!e.isBlank()) {
                        entries.add(Path.of(e));
                    }
                }
            } catch (IOException e) {
                throw new FuzzSetupException("cannot read " + file + ": " + e.getMessage());
            }
        }
        Path jar = jazzerJar(entries, jazzer, jazzerEnv);
        entries.removeIf(e -> e.equals(jar));
        return new FuzzClassPath(List.copyOf(entries), jar);
    }

    /** The class path the fuzzing JVM gets: Jazzer first, as its launcher does. */
    String javaClassPath() {
        StringBuilder sb = new StringBuilder(jazzerJar.toString());
        for (Path e : entries) {
            sb.append(File.pathSeparator).append(e);
        }
        return sb.toString();
    }

    private static Path checkoutAbove(Path cwd) throws FuzzSetupException {
        for (Path d = cwd.toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("fuzz/pom.xml")) && Files.isRegularFile(d.resolve("pom.xml"))) {
                return d;
            }
        }
        throw new FuzzSetupException("no --classpath given and no jrump checkout at or above " + cwd.toAbsolutePath()
                + ": give --classpath with your harnesses' test classes and test class path, or --project DIR");
    }

    private static Path jazzerJar(List<Path> entries, Path option, String env) throws FuzzSetupException {
        if (option != null) {
            if (!Files.isRegularFile(option)) {
                throw new FuzzSetupException("--jazzer " + option + ": no such file");
            }
            return option.toAbsolutePath();
        }
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env);
            if (!Files.isRegularFile(p)) {
                throw new FuzzSetupException(JAZZER_ENV + "=" + env + ": no such file");
            }
            return p.toAbsolutePath();
        }
        for (Path e : entries) {
            if (Files.isRegularFile(e) && JAZZER_JAR.matcher(e.getFileName().toString()).matches()) {
                return e;
            }
        }
        throw new FuzzSetupException("no Jazzer standalone jar (com.code-intelligence:jazzer, e.g. jazzer-0.30.0.jar)"
                + " on the class path: give --jazzer JAR or set " + JAZZER_ENV
                + " (jazzer-junit depends on it, so Maven has it under ~/.m2/repository/com/code-intelligence/jazzer/)");
    }
}
