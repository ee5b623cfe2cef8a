package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * The complete programs of the java.nio, Netty and rump-fs guides, taken from the Markdown as they stand,
 * compiled and run: each must print what its guide says it prints. (DocJavaBlocksTest compiles
 * every block; rump-net's DocExamplesTest runs the socket-API programs.)
 */
class GuideProgramsTest {
    private static final Pattern JAVA_BLOCK = Pattern.compile("(?m)^```java\n(.*?)^```", Pattern.DOTALL);

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        "../docs/nio-channels.md, NioEcho, 'echo: hello over jrump'",
        "../docs/rump-fs.md, IsoList, 'hello from an ISO'",
        "../docs/netty-transport.md, NettyEcho, 'hello, jrump'",
        "../docs/rump-fs.md, FatCard, 'size by another case: 14'",
        "../docs/rump-fs.md, ExFatStick, 'grown to 10485760'",
    })
    void theGuideProgramPrintsWhatItsGuideSays(String markdown, String className, String expected, @TempDir Path out)
            throws Exception {
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
        boolean compiled = javac.getTask(new PrintWriter(diagnostics, true), null, null,
                List.of("-d", out.toString(), "-classpath", System.getProperty("java.class.path"), "-proc:none"),
                null, List.of(file)).call();
        assertTrue(compiled, markdown + ": " + className + " does not compile:\n" + diagnostics);
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream old = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {out.toUri().toURL()}, getClass().getClassLoader())) {
            Method main = loader.loadClass(className).getMethod("main", String[].class);
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> main.invoke(null, (Object) new String[0]));
        } finally {
            System.setOut(old);
        }
        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains(expected), className + " printed:\n" + text);
    }

    private static String program(Path markdown, String className) throws Exception {
        Matcher m = JAVA_BLOCK.matcher(Files.readString(markdown));
        while (m.find()) {
            if (m.group(1).contains("public class " + className + " ")) {
                return m.group(1);
            }
        }
        throw new AssertionError(markdown + " has no java block declaring public class " + className);
    }
}
