package dev.mamba.jobs.source;

import org.apache.spark.sql.connector.read.InputPartition;

import java.util.List;

/** A partition: streams read together, interleaved, by one task. */
public record ChunkPartition(int index, List<InputStreamSpec> streams) implements InputPartition {
}
