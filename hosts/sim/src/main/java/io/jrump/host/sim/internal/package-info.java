/**
 * Implementation detail of the simulation host: the trace digest and the derivation of seeded
 * random streams. Not an API; may change without notice.
 */
package io.jrump.host.sim.internal;
