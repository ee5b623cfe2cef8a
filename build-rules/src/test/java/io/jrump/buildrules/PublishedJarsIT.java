package io.jrump.buildrules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.module.Configuration;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The jars {@code mvn package} built for every published module, as a user would get them: each
 * has an {@code Automatic-Module-Name} (its {@code jrump.moduleName}), a sources jar and a javadoc
 * jar, and all of them resolve together on a module path. Runs in the {@code integration-test}
 * phase of build-rules, which depends on every published module, so the jars are there.
 */
class PublishedJarsIT {
    static Path root() {
        return Path.of(System.getProperty("jrump.root", "..")).toAbsolutePath().normalize();
    }

    /** The built file, or a failure that says how to build it. */
    static Path built(Path root, String relative) {
        Path p = root.resolve(relative);
        assertTrue(Files.isRegularFile(p), () -> relative + " is missing: these checks run on the built jars, "
                + "after `mvn verify` over the reactor (or `mvn verify -pl build-rules -am`) has packaged them");
        return p;
    }

    @Test
    void everyPublishedJarNamesItsAutomaticModuleAndComesWithSourcesAndJavadoc() throws IOException {
        Path root = root();
        String version = ReleaseArtifacts.version(root);
        List<ReleaseArtifacts.Module> published = ReleaseArtifacts.publishedJars(root);
        assertTrue(published.size() >= 8, published::toString);
        for (ReleaseArtifacts.Module m : published) {
            Path jar = built(root, m.jar(version));
            try (JarFile j = new JarFile(jar.toFile())) {
                assertEquals(m.moduleName(), j.getManifest().getMainAttributes().getValue("Automatic-Module-Name"),
                        jar + ": Automatic-Module-Name");
            }
            String base = m.jar(version).replaceAll("\\.jar$", "");
            try (JarFile sources = new JarFile(built(root, base + "-sources.jar").toFile())) {
                String packageDir = m.moduleName().replace('.', '/') + "/";
                assertTrue(sources.stream().anyMatch(e -> e.getName().startsWith(packageDir)
                        && e.getName().endsWith(".java")), base + "-sources.jar holds no sources of " + packageDir);
            }
            try (JarFile javadoc = new JarFile(built(root, base + "-javadoc.jar").toFile())) {
                assertTrue(javadoc.getEntry("index.html") != null, base + "-javadoc.jar has no index.html");
            }
        }
    }

    @Test
    void theConformanceKitHasANameOfItsOwn() throws IOException {
        Path root = root();
        Path kit = built(root, "hypercall/target/hypercall-" + ReleaseArtifacts.version(root) + "-tests.jar");
        try (JarFile j = new JarFile(kit.toFile())) {
            assertEquals("io.jrump.hypercall.conformance",
                    j.getManifest().getMainAttributes().getValue("Automatic-Module-Name"));
        }
    }

    @Test
    void thePublishedJarsResolveTogetherAsModules() throws IOException {
        Path root = root();
        String version = ReleaseArtifacts.version(root);
        List<Path> jars = new ArrayList<>();
        Set<String> names = new TreeSet<>();
        for (ReleaseArtifacts.Module m : ReleaseArtifacts.publishedJars(root)) {
            jars.add(built(root, m.jar(version)));
            names.add(m.moduleName());
        }
        jars.add(built(root, "hypercall/target/hypercall-" + version + "-tests.jar"));
        names.add("io.jrump.hypercall.conformance");
        ModuleFinder finder = ModuleFinder.of(jars.toArray(Path[]::new));
        assertEquals(names, finder.findAll().stream().map(r -> r.descriptor().name())
                .collect(Collectors.toCollection(TreeSet::new)));
        // Automatic modules read every other module; resolving them together fails on a split package.
        Configuration c = Configuration.resolve(finder, List.of(ModuleLayer.boot().configuration()), ModuleFinder.of(),
                names);
        assertEquals(names.size(), c.modules().size());
        for (ModuleReference r : finder.findAll()) {
            assertTrue(r.descriptor().isAutomatic(), r.descriptor().name() + " should stay an automatic module");
        }
    }
}
