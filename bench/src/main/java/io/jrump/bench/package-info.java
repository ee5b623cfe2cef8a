/**
 * JMH benchmarks of jrump's hosts and components. Build with {@code mvn -pl bench -am package
 * -DskipTests} and run {@code java -jar bench/target/benchmarks.jar}; docs/performance.md keeps the
 * figures with the commands that made them.
 */
package io.jrump.bench;
