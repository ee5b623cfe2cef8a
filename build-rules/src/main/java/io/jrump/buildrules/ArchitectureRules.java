package io.jrump.buildrules;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * Checks a reactor against the rules of ARCHITECTURE.md and STYLE.md and returns every violation
 * as one readable line. The rules:
 * <ul>
 *   <li>components never depend on a host (their tests may run on one: test scope is allowed);
 *       hosts never on a component; nothing on cli, fuzz or bench; the hypercall module on
 *       nothing at all (build-rules may depend on any module in test scope: it checks their jars);</li>
 *   <li>JNA only in the Linux host; Netty only in rump-net, the Netty transport (and the tools);</li>
 *   <li>the fuzz kit (rump-fuzz-kit) sits on components and a host like an application; only the
 *       tools depend on it, and anything in test scope;</li>
 *   <li>an adapter (the Netty transport) sits on components like an application: it never depends
 *       on a host and nothing but the tools depends on it; it runs its framework's threads, so the
 *       time-and-threads rule of components does not apply to it, the others do;</li>
 *   <li>components log only through the host's console, never SLF4J, use no host-side piece
 *       ({@code io.jrump.host.kit}) and reach host files only through a host: no
 *       {@code java.nio.file.Files}, {@code FileChannel.open} or {@code java.io.File*};</li>
 *   <li>components and the kernel base take time, threads and randomness only from the hypercall
 *       interface: no {@code System.nanoTime}, {@code Thread.sleep}, {@code new Thread},
 *       executors, unseeded randomness.</li>
 * </ul>
 * Both the Maven dependencies and the Java imports are checked, so a rule cannot be dodged by a
 * transitive dependency.
 */
public final class ArchitectureRules {

    /** What a module is, by artifactId. */
    enum Kind {
        CONTRACT, COMPONENT, HOST, TOOL, BUILD, OTHER,
        /** Drives components from a framework's own threads (the Netty transport): a component's rules but time and threads. */
        ADAPTER,
        /**
         * A published library for fuzz harnesses (rump-fuzz-kit): like an application it sits on
         * components and the simulation host; only the tools and tests depend on it.
         */
        KIT
    }

    static final Map<String, Kind> KINDS = Map.ofEntries(
            Map.entry("hypercall", Kind.CONTRACT),
            Map.entry("rump-blk", Kind.COMPONENT),
            Map.entry("rump-fs", Kind.COMPONENT),
            Map.entry("rump-net", Kind.COMPONENT),
            Map.entry("rump-nio", Kind.COMPONENT),
            Map.entry("rump-netty", Kind.ADAPTER),
            Map.entry("host-kit", Kind.HOST),
            Map.entry("host-jvm", Kind.HOST),
            Map.entry("host-sim", Kind.HOST),
            Map.entry("host-linux", Kind.HOST),
            Map.entry("host-virtio", Kind.HOST),
            Map.entry("cli", Kind.TOOL),
            Map.entry("fuzz", Kind.TOOL),
            Map.entry("bench", Kind.TOOL),
            Map.entry("rump-fuzz-kit", Kind.KIT),
            Map.entry("build-rules", Kind.BUILD));

    private static final Set<String> JNA_ALLOWED = Set.of("host-linux");
    private static final Set<String> NETTY_ALLOWED = Set.of("rump-net", "rump-netty", "cli", "fuzz", "bench");

    /** Calls that read real time, make threads or draw unseeded randomness. */
    private static final List<Pattern> FORBIDDEN_CALLS = Stream.of(
            "System\\s*\\.\\s*nanoTime", "System\\s*\\.\\s*currentTimeMillis", "Thread\\s*\\.\\s*sleep",
            "new\\s+Thread\\s*\\(", "\\bExecutors\\s*\\.", "\\bThreadLocalRandom\\b", "new\\s+Random\\s*\\(",
            "Math\\s*\\.\\s*random", "\\bInstant\\s*\\.\\s*now", "\\bLocalDateTime\\s*\\.\\s*now",
            "new\\s+SecureRandom\\s*\\(", "\\bClock\\s*\\.\\s*system", "new\\s+Timer\\s*\\(",
            "\\bForkJoinPool\\b", "\\b(runAsync|supplyAsync)\\s*\\(", "import\\s+static\\s+java\\.lang\\.System\\.")
            .map(Pattern::compile).toList();

    private static final String JAVA_IO_FILES = "(File|FileInputStream|FileOutputStream|FileReader|FileWriter|RandomAccessFile)";

    /** Ways to open or name host files behind the host's back. */
    private static final List<Pattern> HOST_FILE_ACCESS = Stream.of(
            "\\bjava\\.nio\\.file\\.Files\\b", "(?<![\\w.])Files\\s*\\.\\s*\\w+\\s*\\(",
            "\\bFileChannel\\s*\\.\\s*open\\b", "\\bjava\\.io\\." + JAVA_IO_FILES + "\\b",
            "new\\s+" + JAVA_IO_FILES + "\\s*\\(")
            .map(Pattern::compile).toList();

    private static final Pattern IMPORT = Pattern.compile("^\\s*import\\s+(?:static\\s+)?([\\w.]+)", Pattern.MULTILINE);

    private ArchitectureRules() {
    }

    /** Every violation in the reactor whose root POM is {@code root/pom.xml}; empty if none. */
    public static List<String> check(Path root) throws IOException {
        List<String> violations = new ArrayList<>();
        for (String module : modules(root.resolve("pom.xml"))) {
            Path dir = root.resolve(module);
            Document pom = parse(dir.resolve("pom.xml"));
            String artifact = text(pom.getDocumentElement(), "artifactId");
            Kind kind = KINDS.getOrDefault(artifact, Kind.OTHER);
            for (String[] dep : dependencies(pom)) {
                String why = dependencyViolation(artifact, kind, dep[0], dep[1], "test".equals(dep[2]));
                if (why != null) {
                    violations.add(module + "/pom.xml: " + artifact + " depends on " + dep[0] + ":" + dep[1]
                            + ": " + why);
                }
            }
            Path main = dir.resolve("src/main/java");
            if (Files.isDirectory(main)) {
                try (Stream<Path> files = Files.walk(main)) {
                    for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                        checkSource(root.relativize(f).toString(), artifact, kind, Files.readString(f), violations);
                    }
                }
            }
        }
        return violations;
    }

    private static String dependencyViolation(String artifact, Kind kind, String group, String dep,
            boolean testScope) {
        if (kind == Kind.BUILD && testScope) {
            return null; // the build rules check the published jars, so they come after all of them
        }
        Kind depKind = "io.jrump".equals(group) ? KINDS.getOrDefault(dep, Kind.OTHER) : null;
        if (depKind == Kind.TOOL) {
            return "nothing may depend on cli, fuzz or bench";
        }
        if (kind == Kind.CONTRACT && !testScope) {
            return "the hypercall contract depends on nothing";
        }
        if (kind == Kind.COMPONENT && depKind == Kind.HOST && !testScope) {
            return "components never depend on a host";
        }
        if (kind == Kind.HOST && depKind == Kind.COMPONENT) {
            return "hosts never depend on a component";
        }
        if (kind == Kind.ADAPTER && depKind == Kind.HOST && !testScope) {
            return "adapters never depend on a host";
        }
        if (depKind == Kind.ADAPTER && kind != Kind.TOOL && kind != Kind.ADAPTER && !testScope) {
            return "only the tools depend on an adapter";
        }
        if (depKind == Kind.KIT && kind != Kind.TOOL && !testScope) {
            return "only the tools (and tests) depend on the fuzz kit";
        }
        if ("net.java.dev.jna".equals(group) && !JNA_ALLOWED.contains(artifact)) {
            return "JNA belongs in hosts/linux only";
        }
        if ("io.netty".equals(group) && !NETTY_ALLOWED.contains(artifact)) {
            return "Netty belongs in rump-net only";
        }
        return null;
    }

    /**
     * The source with its comments and the contents of its string and character literals (text
     * blocks too) blanked out, the quotes kept: a {@code //} inside a string starts no comment, the
     * code after it is still checked, and text in a string is not mistaken for code.
     */
    static String stripComments(String source) {
        StringBuilder out = new StringBuilder(source.length());
        int i = 0;
        int n = source.length();
        while (i < n) {
            char c = source.charAt(i);
            if (c == '/' && i + 1 < n && source.charAt(i + 1) == '/') {
                while (i < n && source.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && i + 1 < n && source.charAt(i + 1) == '*') {
                int end = source.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                out.append(' ');
            } else if (source.startsWith("\"\"\"", i)) {
                int end = source.indexOf("\"\"\"", i + 3);
                int stop = end < 0 ? n : end + 3;
                blankLiteral(source, i, stop, 3, out);
                i = stop;
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && source.charAt(j) != c && source.charAt(j) != '\n') {
                    j += source.charAt(j) == '\\' ? 2 : 1;
                }
                int stop = Math.min(n, j + 1);
                blankLiteral(source, i, stop, 1, out);
                i = stop;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    /** The literal {@code source[from, to)} with its quotes ({@code quote} characters each end) and blanks between. */
    private static void blankLiteral(String source, int from, int to, int quote, StringBuilder out) {
        int open = Math.min(to - from, quote);
        out.append(source, from, from + open);
        int close = Math.min(quote, to - from - open);
        for (int k = from + open; k < to - close; k++) {
            out.append(source.charAt(k) == '\n' ? '\n' : ' ');
        }
        out.append(source, to - close, to);
    }

    private static void checkSource(String file, String artifact, Kind kind, String source, List<String> out) {
        String code = stripComments(source);
        Matcher m = IMPORT.matcher(code);
        while (m.find()) {
            String imported = m.group(1);
            if (imported.startsWith("com.sun.jna") && !JNA_ALLOWED.contains(artifact)) {
                out.add(file + ": imports " + imported + ": JNA belongs in hosts/linux only");
            }
            if (imported.startsWith("io.netty") && !NETTY_ALLOWED.contains(artifact)) {
                out.add(file + ": imports " + imported + ": Netty belongs in rump-net only");
            }
            if (imported.startsWith("io.jrump.host.") && (kind == Kind.COMPONENT || kind == Kind.CONTRACT)) {
                out.add(file + ": imports " + imported + ": components never depend on a host");
            }
            if (imported.startsWith("io.jrump.host.") && kind == Kind.ADAPTER) {
                out.add(file + ": imports " + imported + ": adapters never depend on a host");
            }
            if ((imported.startsWith("io.jrump.blk") || imported.startsWith("io.jrump.fs")
                    || imported.startsWith("io.jrump.net")) && kind == Kind.HOST) {
                out.add(file + ": imports " + imported + ": hosts never depend on a component");
            }
        }
        if (kind == Kind.COMPONENT && code.contains("org.slf4j.")) { // imports and qualified names alike
            out.add(file + ": names org.slf4j: components log through the host's console, not SLF4J");
        }
        if (kind == Kind.COMPONENT || kind == Kind.CONTRACT || kind == Kind.ADAPTER) {
            for (Pattern p : HOST_FILE_ACCESS) {
                Matcher use = p.matcher(code);
                if (use.find()) {
                    out.add(file + ": uses '" + use.group().replaceAll("\\s+", " ")
                            + "': components reach host files only through the host's block devices");
                }
            }
            for (Pattern p : kind == Kind.ADAPTER ? List.<Pattern>of() : FORBIDDEN_CALLS) {
                Matcher call = p.matcher(code);
                if (call.find()) {
                    out.add(file + ": uses '" + call.group().replaceAll("\\s+", " ")
                            + "': components take time, threads and randomness only from the hypercall interface");
                }
            }
        }
    }

    private static List<String> modules(Path rootPom) throws IOException {
        NodeList nodes = parse(rootPom).getElementsByTagName("module");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            out.add(nodes.item(i).getTextContent().trim());
        }
        return out;
    }

    /** groupId, artifactId and scope of each direct dependency (dependencyManagement excluded). */
    private static List<String[]> dependencies(Document pom) {
        List<String[]> out = new ArrayList<>();
        for (Element deps : children(pom.getDocumentElement(), "dependencies")) {
            for (Element d : children(deps, "dependency")) {
                out.add(new String[] {text(d, "groupId"), text(d, "artifactId"), text(d, "scope")});
            }
        }
        return out;
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                out.add(e);
            }
        }
        return out;
    }

    private static String text(Element parent, String name) {
        List<Element> c = children(parent, name);
        return c.isEmpty() ? "" : c.get(0).getTextContent().trim();
    }

    private static Document parse(Path pom) throws IOException {
        try (InputStream in = Files.newInputStream(pom)) {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            DocumentBuilder b = f.newDocumentBuilder();
            return b.parse(in);
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException(pom + ": not a readable POM: " + e.getMessage(), e);
        }
    }
}
