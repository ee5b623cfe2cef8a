package io.jrump.fuzz;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarFile;

/**
 * For bench/fuzz-structure-vs-bytes.sh: a Jazzer target ({@code fuzzerTestOneInput}) that runs the
 * harness method named by {@code -Djrump.replay.harness=Class#method} on each input, after loading
 * every class of the package {@code -Djrump.replay.package} in {@code fuzzerInitialize}. Loaded
 * there, before any input runs, all of the package's classes are instrumented before libFuzzer
 * starts: Jazzer 0.30.0's coverage report leaves out classes first loaded while the corpus is
 * being replayed once their coverage counters lie past the first few thousand.
 */
public final class CoverageReplay {
    private static Object harness;
    private static Method method;

    private CoverageReplay() {
    }

    public static void fuzzerInitialize() throws Exception {
        String[] h = System.getProperty("jrump.replay.harness").split("#");
        String pkg = System.getProperty("jrump.replay.package");
        int loaded = preload(pkg);
        System.err.println("CoverageReplay: " + loaded + " classes of " + pkg + " loaded");
        Class<?> c = Class.forName("io.jrump.fuzz." + h[0]);
        Constructor<?> k = c.getDeclaredConstructor();
        k.setAccessible(true);
        harness = k.newInstance();
        method = c.getDeclaredMethod(h[1], byte[].class);
        method.setAccessible(true);
    }

    public static void fuzzerTestOneInput(byte[] input) throws Throwable {
        try {
            method.invoke(harness, (Object) input);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static int preload(String pkg) throws IOException, URISyntaxException, ClassNotFoundException {
        ClassLoader loader = CoverageReplay.class.getClassLoader();
        String dir = pkg.replace('.', '/');
        List<String> names = new ArrayList<>();
        Enumeration<URL> roots = loader.getResources(dir);
        while (roots.hasMoreElements()) {
            URL u = roots.nextElement();
            if (u.getProtocol().equals("jar")) {
                try (JarFile jar = ((JarURLConnection) u.openConnection()).getJarFile()) {
                    jar.stream().map(e -> e.getName())
                            .filter(n -> n.startsWith(dir + "/") && n.endsWith(".class") && n.indexOf('/', dir.length() + 1) < 0)
                            .forEach(n -> names.add(n.substring(0, n.length() - 6).replace('/', '.')));
                }
            } else {
                try (DirectoryStream<Path> s = Files.newDirectoryStream(Path.of(u.toURI()), "*.class")) {
                    for (Path p : s) {
                        String f = p.getFileName().toString();
                        names.add(pkg + "." + f.substring(0, f.length() - 6));
                    }
                }
            }
        }
        for (String n : names) {
            Class.forName(n, false, loader);
        }
        return names.size();
    }
}
