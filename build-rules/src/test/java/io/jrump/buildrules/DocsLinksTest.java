package io.jrump.buildrules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The repository's Markdown holds together: every relative link resolves to a file or folder
 * inside the repository, and no text points at files outside it (such as the design notes the
 * project was started from), so a clone is complete as it stands.
 */
class DocsLinksTest {
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    static List<Path> markdown() throws IOException {
        try (Stream<Path> files = Files.walk(ROOT)) {
            return files.filter(p -> p.toString().endsWith(".md"))
                    .filter(p -> !ROOT.relativize(p).toString().contains("target/"))
                    .filter(p -> !ROOT.relativize(p).startsWith(".git"))
                    .sorted().toList();
        }
    }

    @Test
    void everyRelativeLinkResolvesInsideTheRepository() throws IOException {
        List<String> broken = new ArrayList<>();
        List<Path> files = markdown();
        assertTrue(files.size() >= 10, "the Markdown files were found: " + files);
        for (Path md : files) {
            Matcher m = LINK.matcher(Files.readString(md));
            while (m.find()) {
                String target = m.group(1);
                if (target.matches("^[a-z]+:.*") || target.startsWith("#")) {
                    continue; // a URL, or an anchor in the same page
                }
                String file = target.replaceFirst("#.*$", "");
                Path resolved = md.getParent().resolve(file).normalize();
                if (!resolved.startsWith(ROOT) || !Files.exists(resolved)) {
                    broken.add(ROOT.relativize(md) + ": " + target);
                }
            }
        }
        assertEquals(List.of(), broken, "links that do not resolve inside the repository");
    }

    @Test
    void nothingPointsOutsideTheRepository() throws IOException {
        List<String> outside = new ArrayList<>();
        for (Path md : markdown()) {
            String text = Files.readString(md);
            if (text.contains("../shared") || text.contains("shared/design")) {
                outside.add(ROOT.relativize(md).toString());
            }
        }
        assertEquals(List.of(), outside, "Markdown that refers to files outside the repository");
    }
}
