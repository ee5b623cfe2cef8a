/** The same java.nio program over two jrump stacks and over Linux loopback, side by side ({@link io.jrump.bench.nio.NioBench}). */
package io.jrump.bench.nio;
