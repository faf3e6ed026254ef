package dev.mamba.jobs.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/** What a finished job reports: printed at the end and written as summary.json beside the outputs. */
public final class JobSummary {
    public final String job;
    public long sequences;
    public long errors;
    public long steps;
    /** Lane-steps the backend computed: steps plus the padding of shorter chunks and of idle lanes below busy ones. */
    public long computedSteps;
    public long chunks;
    public double seconds;
    public final Map<String, Long> rows = new LinkedHashMap<>();
    public final Map<String, String> settings = new LinkedHashMap<>();
    /** The backends the tasks ran on, as each executor described its own (device, precision, kernels). */
    public final SortedSet<String> backends = new TreeSet<>();

    JobSummary(String job) {
        this.job = job;
    }

    public double stepsPerSecond() {
        return seconds > 0 ? steps / seconds : 0;
    }

    /** Share of the computed lane-steps that were real input (1 when no lane ever idled or padded). */
    public double laneUtilization() {
        return computedSteps > 0 ? (double) steps / computedSteps : 0;
    }

    /** One line for the terminal. */
    public String line() {
        return String.format("[mamba] %s done: %,d sequences, %,d steps, %,d errors in %.1f s (%,.0f steps/s)",
                job, sequences, steps, errors, seconds, stepsPerSecond());
    }

    public String json() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode n = m.createObjectNode();
        n.put("job", job).put("sequences", sequences).put("errors", errors).put("steps", steps).put("chunks", chunks)
                .put("seconds", seconds).put("steps_per_second", stepsPerSecond())
                .put("computed_steps", computedSteps).put("lane_utilization", laneUtilization());
        backends.forEach(n.putArray("backends")::add);
        ObjectNode r = n.putObject("rows");
        rows.forEach(r::put);
        ObjectNode st = n.putObject("settings");
        settings.forEach(st::put);
        try {
            return m.writerWithDefaultPrettyPrinter().writeValueAsString(n);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
