/**
 * The project's rules as code: {@link io.jrump.buildrules.ArchitectureRules} reads the reactor's
 * POMs and sources and lists every violation; {@link io.jrump.buildrules.ReleaseArtifacts} does the
 * same for what is published (the BOM, the Automatic-Module-Names).
 */
package io.jrump.buildrules;
