package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The complete Java programs in the README and docs/rump-net.md, taken from the Markdown as they
 * stand, compiled against this build and run: an example in the docs is a promise. Each must print
 * what the text around it says it prints.
 */
class DocExamplesTest {
    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL);
    private static final Pattern CLASS_NAME = Pattern.compile("public class (\\w+)");

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        "../README.md, HelloUdp, 'b got \"hello\" from 198.18.0.1:'",
        "../docs/rump-net.md, HelloTcp, 'hello, jrump'",
        "../docs/rump-net.md, HelloIpv6, 'over IPv6 from [2001:db8::1]:'",
        "../docs/rump-net.md, HelloIpv6, 'over IPv4 from [::ffff:198.18.0.1]:'",
        "../docs/rump-net.md, HelloIpv6, 'state=REACHABLE'",
        "../docs/rump-net.md, HelloDns, 'web.test is [/198.18.0.80, /2001:db8:0:0:0:0:0:80]'",
    })
    void theExampleCompilesAndPrintsWhatTheTextSays(String markdown, String className, String expected,
            @TempDir Path out) throws Exception {
        String source = program(Path.of(markdown), className);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        JavaFileObject file = new SimpleJavaFileObject(URI.create("string:///" + className + ".java"),
                JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return source;
            }
        };
        boolean compiled = javac.getTask(new java.io.PrintWriter(diagnostics, true), null, null,
                List.of("-d", out.toString(), "-classpath", System.getProperty("java.class.path"), "-Xlint:none"),
                null, List.of(file)).call();
        assertTrue(compiled, markdown + ": " + className + " does not compile:\n" + diagnostics);

        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {out.toUri().toURL()}, getClass().getClassLoader())) {
            Method main = loader.loadClass(className).getMethod("main", String[].class);
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> main.invoke(null, (Object) new String[0]));
        } finally {
            System.setOut(stdout);
        }
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains(expected), className + " printed:\n" + text);
    }

    /** The one ```java block of {@code markdown} that declares {@code public class name}. */
    static String program(Path markdown, String name) throws Exception {
        List<String> found = new ArrayList<>();
        Matcher m = JAVA_BLOCK.matcher(Files.readString(markdown));
        while (m.find()) {
            Matcher c = CLASS_NAME.matcher(m.group(1));
            if (c.find() && c.group(1).equals(name)) {
                found.add(m.group(1));
            }
        }
        assertEquals(1, found.size(), markdown + " should hold exactly one example class " + name);
        return found.get(0);
    }
}
