package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code ```java} block in the README and in docs/ compiles against this build (the cli
 * module sees every component and host). A block that declares a top-level type is compiled as it
 * stands. Any other block is a fragment: its {@code import} lines stay imports, and the rest
 * becomes the body of a method whose parameters are the fragment's first line when that reads
 * {@code // given: Type name, Type name} — the names the text around the fragment introduces.
 * DocExamplesTest in rump-net also runs the complete network programs.
 */
class DocJavaBlocksTest {
    private static final Pattern JAVA_BLOCK = Pattern.compile("(?m)^```java\n(.*?)^```", Pattern.DOTALL);
    private static final Pattern TOP_LEVEL_TYPE =
            Pattern.compile("(?m)^(?:public\\s+)?(?:final\\s+|abstract\\s+)?(?:class|interface|record|enum)\\s+(\\w+)");
    private static final Pattern GIVEN = Pattern.compile("^\\s*//\\s*given:\\s*(.*)$");

    @TempDir
    Path out;

    @TestFactory
    Stream<DynamicTest> everyJavaBlockInTheDocsCompiles() throws IOException {
        Path repo = Path.of("..").toAbsolutePath().normalize();
        List<Path> markdown = new ArrayList<>();
        markdown.add(repo.resolve("README.md"));
        try (Stream<Path> docs = Files.list(repo.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(markdown::add);
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (Path md : markdown) {
            String text = Files.readString(md);
            Matcher m = JAVA_BLOCK.matcher(text);
            while (m.find()) {
                int line = 1 + (int) text.substring(0, m.start()).chars().filter(c -> c == '\n').count();
                String where = repo.relativize(md) + ":" + line;
                String block = m.group(1);
                tests.add(DynamicTest.dynamicTest(where, () -> compile(where, block, tests.size())));
            }
        }
        assertFalse(tests.isEmpty(), "no java blocks found under " + repo);
        return tests.stream();
    }

    private void compile(String where, String block, int index) throws IOException {
        Matcher type = TOP_LEVEL_TYPE.matcher(block);
        String name;
        String source;
        if (type.find()) {
            name = type.group(1);
            source = block;
        } else {
            name = "Fragment" + index;
            source = wrap(name, block);
        }
        Path dir = Files.createTempDirectory(out, "block");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        JavaFileObject file = new SimpleJavaFileObject(URI.create("string:///" + name + ".java"), JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return source;
            }
        };
        boolean ok = javac.getTask(new PrintWriter(diagnostics, true), null, null,
                List.of("-d", dir.toString(), "-classpath", System.getProperty("java.class.path"), "-Xlint:none",
                        "-proc:none"),
                null, List.of(file)).call();
        assertTrue(ok, where + ": the java block does not compile:\n" + diagnostics + "\n--- as compiled:\n" + source);
    }

    /** The fragment as a class: imports on top, the rest in a method taking the {@code given} names. */
    static String wrap(String name, String block) {
        StringBuilder imports = new StringBuilder();
        StringBuilder body = new StringBuilder();
        String given = "";
        String[] lines = block.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            Matcher g = GIVEN.matcher(lines[i]);
            if (i == 0 && g.matches()) {
                given = g.group(1).trim();
            } else if (lines[i].startsWith("import ")) {
                imports.append(lines[i]).append('\n');
            } else {
                body.append("        ").append(lines[i]).append('\n');
            }
        }
        return imports + "\nclass " + name + " {\n    static void fragment(" + given + ") throws Exception {\n"
                + body + "    }\n}\n";
    }
}
