/** Block-layer internals shared by the device implementations. */
package io.jrump.blk.internal;
