/**
 * Fuzzing support. The harnesses are Jazzer {@code @FuzzTest}s under {@code src/test}; each runs
 * its seed corpus in every build and fuzzes on demand ({@code JAZZER_FUZZ=1}).
 */
package io.jrump.fuzz;
