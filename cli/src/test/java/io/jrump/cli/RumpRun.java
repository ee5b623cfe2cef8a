package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One run of the rump command in-process, for tests: exit code and what it printed. */
record RumpRun(int code, String out, String err) {

    static RumpRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Rump.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new RumpRun(code, out.toString(), err.toString());
    }

    /** Runs and requires the exit code, showing the output if it differs. */
    static RumpRun expect(int exit, String... args) {
        RumpRun r = of(args);
        assertEquals(exit, r.code(), String.join(" ", args) + "\n" + r.out() + r.err());
        return r;
    }

    /** Standard output and error together. */
    String all() {
        return out + err;
    }
}
