package dev.mamba.jobs.spark;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

import java.io.Serializable;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What a job's tasks report back to the driver while it runs: chunks and steps done (the progress line reads
 * them), the lane-steps the backend computed, and which backend each task ran on. The backend is only known
 * on the executors ({@code auto} resolves there, and each may find a different device or none), so the
 * summary takes it from the tasks rather than from the settings.
 */
final class JobCounters implements Serializable {
    private static final long serialVersionUID = 1L;
    final LongAccumulator chunks;
    final LongAccumulator steps;
    /** Lane-steps the backend ran, padding and idle lanes included. */
    final LongAccumulator computed;
    /** One entry per task: the executor backend's description (duplicates collapse in {@link #backendsUsed}). */
    final CollectionAccumulator<String> backends;

    JobCounters(SparkSession spark) {
        chunks = spark.sparkContext().longAccumulator("mamba.chunks");
        steps = spark.sparkContext().longAccumulator("mamba.steps");
        computed = spark.sparkContext().longAccumulator("mamba.computedSteps");
        backends = spark.sparkContext().collectionAccumulator("mamba.backends");
    }

    /** The distinct backends the tasks ran on, sorted. */
    SortedSet<String> backendsUsed() {
        return new TreeSet<>(backends.value());
    }
}
