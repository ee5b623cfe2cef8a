/** The {@code rump} command line, built with picocli. */
package io.jrump.cli;
