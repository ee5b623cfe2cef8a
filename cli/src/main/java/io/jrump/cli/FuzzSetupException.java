package io.jrump.cli;

/**
 * Why {@code rump fuzz} cannot start: a target, file, class path or Jazzer jar is missing or an
 * argument is wrong. The command prints the message and exits 2.
 */
final class FuzzSetupException extends Exception {
    FuzzSetupException(String message) {
        super(message);
    }
}
