package io.jrump.buildrules;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;

/**
 * What a Java user gets from the reactor, and the rules it keeps:
 * <ul>
 *   <li>a module is <em>published</em> unless its POM sets {@code maven.deploy.skip} (fuzz, bench
 *       and build-rules are internal);</li>
 *   <li>{@code bom/pom.xml} ({@code io.jrump:jrump-bom}) has no parent, has the reactor's version,
 *       manages every published jar at {@code ${project.version}} and nothing outside
 *       {@code io.jrump}, so importing it pins no third-party library;</li>
 *   <li>every jar module sets {@code jrump.moduleName}, which the parent POM writes into the jar's
 *       manifest as {@code Automatic-Module-Name}: a valid module name, unique, naming a package the
 *       module holds (its root package);</li>
 *   <li>no package is split over two modules, which the module path refuses.</li>
 * </ul>
 * Reads POMs and sources only; the built jars are checked by {@code PublishedJarsIT}.
 */
public final class ReleaseArtifacts {

    /** The BOM's artifactId and folder. */
    public static final String BOM = "jrump-bom";
    static final String BOM_DIR = "bom";

    /** One reactor module as its POM describes it. */
    public record Module(String dir, String artifactId, String packaging, boolean published, String moduleName) {
        /** The jar {@code mvn package} writes, relative to the reactor root. */
        public String jar(String version) {
            return dir + "/target/" + artifactId + "-" + version + ".jar";
        }
    }

    private ReleaseArtifacts() {
    }

    /** The reactor's version: the root POM's. */
    public static String version(Path root) throws IOException {
        return text(parse(root.resolve("pom.xml")).getDocumentElement(), "version");
    }

    /** Every module of the reactor, in the root POM's order. */
    public static List<Module> modules(Path root) throws IOException {
        List<Module> out = new ArrayList<>();
        for (Element m : children(child(parse(root.resolve("pom.xml")).getDocumentElement(), "modules"), "module")) {
            String dir = m.getTextContent().trim();
            Element pom = parse(root.resolve(dir).resolve("pom.xml")).getDocumentElement();
            Element props = child(pom, "properties");
            String packaging = text(pom, "packaging");
            out.add(new Module(dir, text(pom, "artifactId"), packaging.isEmpty() ? "jar" : packaging,
                    !"true".equals(text(props, "maven.deploy.skip")), text(props, "jrump.moduleName")));
        }
        return out;
    }

    /** The published jar modules: what the BOM lists and a user may depend on. */
    public static List<Module> publishedJars(Path root) throws IOException {
        return modules(root).stream().filter(m -> m.published() && "jar".equals(m.packaging())).toList();
    }

    /** Every breach of the rules above; empty if none. */
    public static List<String> check(Path root) throws IOException {
        List<String> out = new ArrayList<>();
        String version = version(root);
        List<Module> modules = modules(root);
        if (modules.stream().noneMatch(m -> m.dir().equals(BOM_DIR))) {
            out.add("pom.xml: the reactor has no module " + BOM_DIR);
        }
        checkBom(root, version, modules, out);
        checkModuleNames(root, modules, out);
        return out;
    }

    private static void checkBom(Path root, String version, List<Module> modules, List<String> out)
            throws IOException {
        Path file = root.resolve(BOM_DIR).resolve("pom.xml");
        if (!Files.exists(file)) {
            out.add(BOM_DIR + "/pom.xml: missing");
            return;
        }
        Element bom = parse(file).getDocumentElement();
        String where = BOM_DIR + "/pom.xml: ";
        if (child(bom, "parent") != null) {
            out.add(where + "has a parent: its dependencyManagement would reach every user who imports the BOM");
        }
        if (!"io.jrump".equals(text(bom, "groupId")) || !BOM.equals(text(bom, "artifactId"))
                || !"pom".equals(text(bom, "packaging"))) {
            out.add(where + "is not io.jrump:" + BOM + " with packaging pom");
        }
        if (!version.equals(text(bom, "version"))) {
            out.add(where + "version " + text(bom, "version") + " is not the reactor's " + version);
        }
        // A <build> may pin the BOM's own plugins (it has no parent to do so); importers never see it.
        for (String forbidden : List.of("dependencies", "repositories", "properties")) {
            if (child(bom, forbidden) != null) {
                out.add(where + "has <" + forbidden + ">: a BOM only manages versions");
            }
        }
        Set<String> managed = new TreeSet<>();
        for (Element d : children(child(child(bom, "dependencyManagement"), "dependencies"), "dependency")) {
            String id = text(d, "groupId") + ":" + text(d, "artifactId");
            if (!"io.jrump".equals(text(d, "groupId"))) {
                out.add(where + "manages " + id + ": only io.jrump artifacts belong in the BOM");
                continue;
            }
            if (!"${project.version}".equals(text(d, "version"))) {
                out.add(where + id + " is at " + text(d, "version") + ", not ${project.version}");
            }
            String type = text(d, "type");
            if (type.isEmpty() || "jar".equals(type)) {
                managed.add(text(d, "artifactId"));
            }
        }
        Set<String> published = new TreeSet<>();
        Map<String, Module> byArtifact = new HashMap<>();
        for (Module m : modules) {
            byArtifact.put(m.artifactId(), m);
            if (m.published() && "jar".equals(m.packaging())) {
                published.add(m.artifactId());
            }
        }
        for (String a : published) {
            if (!managed.contains(a)) {
                out.add(where + "does not list the published module " + a
                        + " (add it, or set maven.deploy.skip in its POM if it is internal)");
            }
        }
        for (String a : managed) {
            if (!published.contains(a)) {
                Module m = byArtifact.get(a);
                out.add(where + "lists " + a + (m == null ? ", which is no module of the reactor"
                        : ", which is internal (maven.deploy.skip)"));
            }
        }
    }

    private static void checkModuleNames(Path root, List<Module> modules, List<String> out) throws IOException {
        Map<String, Set<String>> packages = new HashMap<>();
        for (Module m : modules) {
            packages.put(m.dir(), packages(root.resolve(m.dir()).resolve("src/main/java")));
        }
        Map<String, String> seen = new HashMap<>();
        for (Module m : modules) {
            if (!"jar".equals(m.packaging())) {
                continue;
            }
            String where = m.dir() + "/pom.xml: ";
            String name = m.moduleName();
            if (name.isEmpty()) {
                out.add(where + "sets no jrump.moduleName (the jar's Automatic-Module-Name)");
                continue;
            }
            try {
                ModuleDescriptor.newAutomaticModule(name);
            } catch (IllegalArgumentException e) {
                out.add(where + "jrump.moduleName " + name + " is not a module name: " + e.getMessage());
                continue;
            }
            String other = seen.putIfAbsent(name, m.dir());
            if (other != null) {
                out.add(where + "Automatic-Module-Name " + name + " is also " + other + "'s");
            } else if (!packages.get(m.dir()).contains(name)) {
                out.add(where + "Automatic-Module-Name " + name + " names no package of the module (its root package)");
            }
        }
        Map<String, String> owner = new HashMap<>();
        for (Module m : modules) {
            for (String p : packages.get(m.dir())) {
                String other = owner.putIfAbsent(p, m.dir());
                if (other != null) {
                    out.add(m.dir() + ": package " + p + " is also in " + other
                            + ": a package split over two jars cannot be on the module path");
                }
            }
        }
    }

    /** The packages with Java sources under {@code sources}. */
    static Set<String> packages(Path sources) throws IOException {
        Set<String> out = new TreeSet<>();
        if (!Files.isDirectory(sources)) {
            return out;
        }
        try (Stream<Path> files = Files.walk(sources)) {
            files.filter(f -> f.toString().endsWith(".java") && !f.getFileName().toString().equals("module-info.java"))
                    .forEach(f -> out.add(sources.relativize(f.getParent()).toString().replace('/', '.')));
        }
        return out;
    }

    private static Element child(Element parent, String name) {
        List<Element> c = children(parent, name);
        return c.isEmpty() ? null : c.get(0);
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        if (parent == null) {
            return out;
        }
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                out.add(e);
            }
        }
        return out;
    }

    private static String text(Element parent, String name) {
        Element c = child(parent, name);
        return c == null ? "" : c.getTextContent().trim();
    }

    private static Document parse(Path pom) throws IOException {
        try (InputStream in = Files.newInputStream(pom)) {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return f.newDocumentBuilder().parse(in);
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException(pom + ": not a readable POM: " + e.getMessage(), e);
        }
    }
}
