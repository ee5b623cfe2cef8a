/**
 * Whole-process block-layer benchmarks, run side by side with Linux tools by
 * {@code bench/blk-bench.sh}; figures go to docs/performance.md.
 */
package io.jrump.bench.blk;
