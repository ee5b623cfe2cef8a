/**
 * The simulation host: {@link io.jrump.host.sim.SimWorld} runs any number of
 * {@link io.jrump.host.sim.SimHost} kernels on one thread, on virtual time, from one seed, with
 * fault-injecting {@link io.jrump.host.sim.SimDisk disks} and {@link io.jrump.host.sim.SimLink
 * links}, so that every run replays exactly.
 */
package io.jrump.host.sim;
