/**
 * The JVM host: {@link io.jrump.host.jvm.JvmHost} runs kernels in an ordinary JVM on the real
 * clock, host files and in-process Ethernet switches.
 */
package io.jrump.host.jvm;
