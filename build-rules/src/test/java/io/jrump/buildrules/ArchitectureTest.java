package io.jrump.buildrules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rules hold for this repository. */
class ArchitectureTest {
    @Test
    void theRepositoryFollowsTheArchitectureRules() throws Exception {
        Path root = Path.of(System.getProperty("jrump.root", "..")).toAbsolutePath().normalize();
        assertTrue(Files.exists(root.resolve("hypercall/pom.xml")), "not the repository root: " + root);
        List<String> violations = ArchitectureRules.check(root);
        assertEquals(List.of(), violations, () -> String.join("\n", violations));
    }
}
