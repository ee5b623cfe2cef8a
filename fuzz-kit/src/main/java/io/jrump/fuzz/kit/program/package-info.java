/**
 * Syscall-sequence fuzzing: a {@link io.jrump.fuzz.kit.program.Program} is a readable list of
 * calls on files, the mount, sockets and the world's faults (power cuts, link down and up, loss),
 * which {@link io.jrump.fuzz.kit.program.ProgramGenerator} builds from fuzz input and
 * {@link io.jrump.fuzz.kit.program.ProgramRunner} runs on the simulation host against a model,
 * checking after every call. A finding names the call's index; the program's text is its
 * reproducer, and {@link io.jrump.fuzz.kit.program.ProgramRunner#replay} runs it again exactly.
 * docs/fuzzing.md ("Syscall-sequence fuzzing") describes the format and the checks.
 */
package io.jrump.fuzz.kit.program;
