package io.jrump.fuzz.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.fuzz.kit.program.Program;
import io.jrump.fuzz.kit.program.ProgramRunner;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Generated programs parse back to themselves, stay within their bounds, and run clean on a sound world. */
class ProgramGeneratorTest {
    private static long[] script(long seed, int length) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] s = new long[length];
        for (int i = 0; i < length; i++) {
            s[i] = r.nextLong(0, 1 << 20);
        }
        return s;
    }

    @Test
    void generatedProgramsPrintAndParseBackTheSame() throws Exception {
        int sockets = 0;
        int cuts = 0;
        for (long seed = 0; seed < 300; seed++) {
            Program p = Program.generate(ScriptedData.of(script(seed, 400)), 40);
            assertEquals(p, Program.parse(p.text()), p.text());
            assertEquals(p.text(), Program.parse(p.text()).text());
            assertTrue(p.calls().size() <= 40, p.text());
            sockets += p.text().contains("accept(") ? 1 : 0;
            cuts += p.text().contains("powercut()") ? 1 : 0;
        }
        assertTrue(sockets > 30 && cuts > 30, "the choices reach connections (" + sockets + ") and power cuts (" + cuts + ")");
    }

    @Test
    void generatedProgramsRunCleanAndTheSameTwice() {
        for (long seed = 0; seed < 12; seed++) {
            Program p = Program.generate(ScriptedData.of(script(seed, 300)), 32);
            ProgramRunner.Result a = ProgramRunner.run(p);
            assertTrue(a.ok(), a + "\n" + p.text() + String.join("\n", a.trace()));
            assertEquals(a, ProgramRunner.run(p), "the same program gives the same run");
        }
    }
}
