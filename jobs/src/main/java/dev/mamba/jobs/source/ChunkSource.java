package dev.mamba.jobs.source;

import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.catalog.TableProvider;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.sources.DataSourceRegister;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Base of the chunk data sources ({@code spark.read().format("fasta" | "fastq" | "wav")}): a DataFrame
 * of chunks ({@link ChunkSchema}). Options: {@code chunkLength} (4096), {@code lanes} (8: streams read
 * at once per partition, interleaved so a task can fill its lanes), {@code splitSize} (64 MiB per split
 * of a plain FASTA/FASTQ file), {@code frameSize} (WAV: 400 samples per step), {@code mixToMono} (WAV:
 * false), {@code onError} ({@code fail}: a malformed file fails the read naming file and line;
 * {@code report}: it becomes one row with {@code error} set and the other streams go on). A record whose id an
 * earlier record of its file already had is skipped, as a row with {@code error} set; for plain FASTA/FASTQ
 * files read as several byte ranges, planning the read finds those records first ({@link RepeatedIds}: on the
 * driver, or in one Spark job past 16 MiB), so the record kept is the file's first whatever the splits.
 */
public abstract class ChunkSource implements TableProvider, DataSourceRegister {

    abstract ChunkFormat format();

    @Override
    public StructType inferSchema(CaseInsensitiveStringMap options) {
        return ChunkSchema.SCHEMA;
    }

    @Override
    public Table getTable(StructType schema, Transform[] partitioning, Map<String, String> properties) {
        ChunkFormat f = format();
        return new SupportsRead() {
            @Override
            public ScanBuilder newScanBuilder(CaseInsensitiveStringMap options) {
                Map<String, String> all = new java.util.HashMap<>(properties);
                all.putAll(options.asCaseSensitiveMap());
                return () -> new ChunkScan(f, new SourceOptions(all), all);
            }

            @Override
            public String name() {
                return f.name().toLowerCase(java.util.Locale.ROOT) + " chunks";
            }

            @Override
            public StructType schema() {
                return ChunkSchema.SCHEMA;
            }

            @Override
            public Set<TableCapability> capabilities() {
                return EnumSet.of(TableCapability.BATCH_READ);
            }
        };
    }

    /** {@code format("fasta")}. */
    public static final class Fasta extends ChunkSource {
        @Override
        ChunkFormat format() {
            return ChunkFormat.FASTA;
        }

        @Override
        public String shortName() {
            return "fasta";
        }
    }

    /** {@code format("fastq")}. */
    public static final class Fastq extends ChunkSource {
        @Override
        ChunkFormat format() {
            return ChunkFormat.FASTQ;
        }

        @Override
        public String shortName() {
            return "fastq";
        }
    }

    /** {@code format("wav")}. */
    public static final class Wav extends ChunkSource {
        @Override
        ChunkFormat format() {
            return ChunkFormat.WAV;
        }

        @Override
        public String shortName() {
            return "wav";
        }
    }
}
