/**
 * The host conformance kit: {@link io.jrump.hypercall.conformance.HostConformanceSuite}, one JUnit
 * suite every host passes, shipped in the {@code hypercall} test-jar.
 */
package io.jrump.hypercall.conformance;
