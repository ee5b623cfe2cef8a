/**
 * The fuzz kit: helpers for Jazzer harnesses against jrump's components on the deterministic
 * simulation host. {@link io.jrump.fuzz.kit.FuzzWorld} makes a seeded world with kernels, disks and
 * links; {@link io.jrump.fuzz.kit.Images} reproducible filesystem images from jrump's mkfs;
 * {@link io.jrump.fuzz.kit.Frames} Ethernet/IP/TCP/UDP/ICMP frames; {@link io.jrump.fuzz.kit.Invariants}
 * the checks to run after each input; {@link io.jrump.fuzz.kit.Calls} call sequences over files and
 * sockets; {@link io.jrump.fuzz.kit.MemoryFile} an in-memory host file for image formats;
 * {@link io.jrump.fuzz.kit.Trees} the paths of a mounted tree, for comparing with a model.
 * docs/fuzzing.md shows a harness written with it.
 */
package io.jrump.fuzz.kit;
