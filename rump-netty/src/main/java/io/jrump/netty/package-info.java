/**
 * A Netty transport over rump-net: {@link io.jrump.netty.RumpEventLoopGroup}, an event loop that
 * is also its kernels' event loop, and the channels {@link io.jrump.netty.RumpSocketChannel},
 * {@link io.jrump.netty.RumpServerSocketChannel} that {@code Bootstrap} and
 * {@code ServerBootstrap} code uses in place of the NIO ones.
 */
package io.jrump.netty;
