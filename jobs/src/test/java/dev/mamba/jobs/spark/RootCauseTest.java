package dev.mamba.jobs.spark;

import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

import java.nio.file.AccessDeniedException;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The one line a failed job ends with: the message that says what went wrong, not Spark's wrapping. */
class RootCauseTest {
    @Test
    void keepsTheOutermostMessageThatIsNotSparksOrABareWrapper() {
        var reason = new UnsupportedOperationException("no CUDA driver (libcuda.so.1 not found)");
        var ours = new IllegalStateException("backend cuda was asked for but cannot serve: " + reason.getMessage(), reason);
        var spark = new SparkException("Job aborted due to stage failure: Task 0 in stage 1.0 failed 1 times, most "
                + "recent failure: Lost task 0.0 in stage 1.0 (TID 1): " + ours, ours);
        assertEquals(ours.getMessage(), SequenceJob.rootCause(new SparkException("Job aborted.", spark)).getMessage());

        var bad = new IllegalArgumentException("x.fa: record 3: expected '>'");
        var wrapped = new RuntimeException(new java.util.concurrent.ExecutionException(bad));
        assertEquals(bad.getMessage(), SequenceJob.rootCause(new SparkException("Job aborted.", wrapped)).getMessage());
    }

    @Test
    void addsAnIoCausesReasonWhenTheMessageLacksIt() {
        var io = new java.io.UncheckedIOException("cannot write /out/part-0", new AccessDeniedException("/out/part-0"));
        assertEquals("cannot write /out/part-0: permission denied (/out/part-0)",
                SequenceJob.rootCause(new SparkException("Job aborted.", io)).getMessage());
        var plain = new IllegalArgumentException("--lanes must be > 0, is 0");
        assertEquals(plain, SequenceJob.rootCause(plain), "a non-Spark exception is passed through");
    }

    @Test
    void namesTheFileSparkWasReadingWhenTheMessageDoesNot() {
        var parquet = new RuntimeException("could not verify page integrity, CRC checksum verification failed");
        var read = new SparkException("[FAILED_READ_FILE.NO_HINT] Encountered error while reading file "
                + "file:///data/in%20put/part-0.parquet. SQLSTATE: KD001", parquet);
        assertEquals("/data/in put/part-0.parquet: " + parquet.getMessage(),
                SequenceJob.rootCause(new SparkException("Job aborted.", read)).getMessage());
        var named = new IllegalArgumentException("/data/x.csv:3: 3 fields, the header has 2");
        var read2 = new SparkException("Encountered error while reading file file:///data/x.csv.", named);
        assertEquals(named.getMessage(), SequenceJob.rootCause(new SparkException("Job aborted.", read2)).getMessage(),
                "a message that names the file already is left alone");
    }
}
