/**
 * {@code java.nio.channels} over a jrump TCP/IP stack: {@link io.jrump.nio.RumpSelectorProvider}, bound to one
 * kernel's {@code NetStack}, opens socket, server-socket and datagram channels and selectors that behave as the
 * JDK's do, and, named by {@code -Djava.nio.channels.spi.SelectorProvider}, puts a whole unmodified program's NIO
 * on a stack it builds from system properties.
 */
package io.jrump.nio;
