/** Side-by-side benchmarks of Waymark against baselines; run by hand, see BENCHMARKS.md. */
package dev.waymark.bench;
