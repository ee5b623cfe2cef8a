/**
 * The project's architecture rules as code: {@link io.jrump.buildrules.ArchitectureRules} reads the
 * reactor's POMs and sources and lists every violation.
 */
package io.jrump.buildrules;
