package io.jrump.cli;

import java.io.IOException;
import java.io.InputStream;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The Jazzer {@code @FuzzTest} methods on a class path, found by reflection: classes whose bytes
 * name the annotation are loaded (not initialised) in a class loader of their own, and their
 * methods' annotations are matched by name, so the cli needs no Jazzer classes of its own.
 */
final class FuzzTargets {
    static final String FUZZ_TEST = "com.code_intelligence.jazzer.junit.FuzzTest";
    /** How a class file that uses the annotation names it in its constant pool. */
    private static final byte[] DESCRIPTOR =
            "Lcom/code_intelligence/jazzer/junit/FuzzTest;".getBytes(StandardCharsets.US_ASCII);

    /**
     * One harness method. {@code seedDir} is its checked-in seed directory
     * ({@code <Class>Inputs/<method>} beside the class), null when there is none as a directory.
     */
    record Target(String className, String method, String parameters, String maxDuration, Path seedDir, int seeds) {
        /** {@code io.example.FooFuzzTest#parse}: what Jazzer's --target_class/--target_method name. */
        String name() {
            return className + "#" + method;
        }

        String simpleClassName() {
            return className.substring(className.lastIndexOf('.') + 1);
        }

        String packageName() {
            int dot = className.lastIndexOf('.');
            return dot < 0 ? "" : className.substring(0, dot);
        }

        /** {@code FooFuzzTest_parse}: a directory name, and the OSS-Fuzz target name build.sh gives. */
        String fileName() {
            return simpleClassName() + "_" + method;
        }
    }

    private FuzzTargets() {
    }

    /** Every {@code @FuzzTest} method in the directories and jars of {@code classPath}, sorted by name. */
    static List<Target> discover(List<Path> classPath) throws FuzzSetupException {
        List<String> candidates = new ArrayList<>();
        for (Path entry : classPath) {
            candidates.addAll(classesNamingFuzzTest(entry));
        }
        List<Target> found = new ArrayList<>();
        try (URLClassLoader loader = new URLClassLoader(urls(classPath), ClassLoader.getPlatformClassLoader())) {
            for (String name : candidates) {
                found.addAll(targetsOf(loader, name));
            }
        } catch (IOException e) {
            throw new FuzzSetupException("cannot read the class path: " + e.getMessage());
        }
        found.sort(Comparator.comparing(Target::name));
        return found;
    }

    /**
     * The target {@code name} means: {@code pkg.Class#method}, {@code Class#method},
     * {@code Class_method} (OSS-Fuzz's name) or {@code Class} alone when it has one harness.
     */
    static Target resolve(String name, List<Target> targets) throws FuzzSetupException {
        List<Target> matches = new ArrayList<>();
        for (Target t : targets) {
            if (t.name().equals(name) || (t.simpleClassName() + "#" + t.method()).equals(name)
                    || t.fileName().equals(name) || t.className().equals(name) || t.simpleClassName().equals(name)) {
                matches.add(t);
            }
        }
        if (matches.size() == 1) {
            return matches.get(0);
        }
        if (matches.isEmpty()) {
            throw new FuzzSetupException("no fuzz target '" + name + "' on the class path"
                    + " (name it Class#method; 'rump fuzz list' shows the " + targets.size() + " there are)");
        }
        throw new FuzzSetupException("'" + name + "' names " + matches.size() + " fuzz targets: "
                + matches.stream().map(Target::name).collect(Collectors.joining(", ")) + "; name one as Class#method");
    }

    private static URL[] urls(List<Path> classPath) throws FuzzSetupException {
        URL[] urls = new URL[classPath.size()];
        for (int i = 0; i < urls.length; i++) {
            try {
                urls[i] = classPath.get(i).toUri().toURL();
            } catch (MalformedURLException e) {
                throw new FuzzSetupException("bad class path entry " + classPath.get(i) + ": " + e.getMessage());
            }
        }
        return urls;
    }

    /** Binary names of the classes in one class path entry whose bytes name {@code @FuzzTest}. */
    private static List<String> classesNamingFuzzTest(Path entry) throws FuzzSetupException {
        List<String> names = new ArrayList<>();
        try {
            if (Files.isDirectory(entry)) {
                List<Path> classes;
                try (Stream<Path> files = Files.walk(entry)) {
                    classes = files.filter(p -> p.toString().endsWith(".class")).toList();
                }
                for (Path c : classes) {
                    if (namesFuzzTest(Files.readAllBytes(c))) {
                        names.add(binaryName(entry.relativize(c).toString().replace(entry.getFileSystem().getSeparator(), "/")));
                    }
                }
            } else if (Files.isRegularFile(entry) && entry.toString().endsWith(".jar") && !isToolJar(entry)) {
                try (ZipFile jar = new ZipFile(entry.toFile())) {
                    for (ZipEntry e : jar.stream().toList()) {
                        if (e.getName().endsWith(".class") && !e.getName().startsWith("META-INF/")) {
                            try (InputStream in = jar.getInputStream(e)) {
                                if (namesFuzzTest(in.readAllBytes())) {
                                    names.add(binaryName(e.getName()));
                                }
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new FuzzSetupException("cannot read class path entry " + entry + ": " + e.getMessage());
        }
        return names;
    }

    /** Jazzer's and JUnit's own jars hold no harnesses; skipping them saves reading thousands of classes. */
    private static boolean isToolJar(Path jar) {
        String n = jar.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.startsWith("jazzer-") || n.startsWith("junit-") || n.startsWith("opentest4j-");
    }

    private static String binaryName(String classFile) {
        return classFile.substring(0, classFile.length() - ".class".length()).replace('/', '.');
    }

    private static boolean namesFuzzTest(byte[] classBytes) {
        outer:
        for (int i = 0; i + DESCRIPTOR.length <= classBytes.length; i++) {
            for (int j = 0; j < DESCRIPTOR.length; j++) {
                if (classBytes[i + j] != DESCRIPTOR[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static List<Target> targetsOf(ClassLoader loader, String className) {
        List<Target> targets = new ArrayList<>();
        try {
            Class<?> c = Class.forName(className, false, loader);
            for (Method m : c.getDeclaredMethods()) {
                for (Annotation a : m.getAnnotations()) {
                    if (a.annotationType().getName().equals(FUZZ_TEST)) {
                        targets.add(target(loader, c, m, a));
                    }
                }
            }
        } catch (ClassNotFoundException | LinkageError e) {
            // A class that cannot be loaded here (a dependency missing from the class path) cannot
            // be fuzzed either; Jazzer would fail on it the same way.
        }
        return targets;
    }

    private static Target target(ClassLoader loader, Class<?> c, Method m, Annotation fuzzTest) {
        String parameters = Arrays.stream(m.getParameterTypes()).map(Class::getSimpleName)
                .collect(Collectors.joining(", "));
        String maxDuration = "";
        try {
            maxDuration = String.valueOf(fuzzTest.annotationType().getMethod("maxDuration").invoke(fuzzTest));
        } catch (ReflectiveOperationException e) {
            // an older jazzer-junit without maxDuration: nothing to show
        }
        String pkg = c.getPackageName().replace('.', '/');
        String resource = (pkg.isEmpty() ? "" : pkg + "/") + c.getSimpleName() + "Inputs/" + m.getName();
        Path seedDir = null;
        int seeds = 0;
        URL url = loader.getResource(resource);
        if (url != null && url.getProtocol().equals("file")) {
            try {
                seedDir = Path.of(url.toURI());
                try (Stream<Path> files = Files.walk(seedDir)) {
                    seeds = (int) files.filter(Files::isRegularFile).count();
                }
            } catch (URISyntaxException | IOException e) {
                seedDir = null;
            }
        }
        return new Target(c.getName(), m.getName(), parameters, maxDuration, seedDir, seeds);
    }
}
