package io.jrump.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.fuzz.kit.program.Program;
import io.jrump.fuzz.kit.program.ProgramRunner;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Syscall-sequence fuzzing: the input becomes a {@link Program} (files, the mount, TCP sockets,
 * power cuts, link faults) that {@link ProgramRunner} runs on the simulation host against its
 * model, checking after every call. A finding fails with the whole program text — the reproducer —
 * in the message, and saves it as {@code target/fuzz-reproducers/<sha>.prog} (relative to the
 * working directory: fuzz/ under Maven), which {@code ProgramRunner.replay} (and
 * {@code rump fuzz replay FILE}) runs again exactly.
 */
class SyscallSequenceFuzzTest {
    /** The most calls a generated program holds: long enough for a connection, faults and a power cut. */
    static final int MAX_CALLS = 48;
    /** Where findings' programs go. */
    static final Path REPRODUCERS = Path.of("target", "fuzz-reproducers");

    @FuzzTest(maxDuration = "60s")
    void programs(FuzzedDataProvider data) {
        Program p = Program.generate(data, MAX_CALLS);
        ProgramRunner.Result r = ProgramRunner.run(p);
        if (!r.ok()) {
            String saved;
            try {
                saved = "saved as " + p.save(REPRODUCERS);
            } catch (IOException e) {
                saved = "not saved: " + e.getMessage();
            }
            throw new AssertionError(r + "\n--- reproducer (" + saved + ") ---\n" + p.text()
                    + "--- trace ---\n" + String.join("\n", r.trace()));
        }
    }
}
