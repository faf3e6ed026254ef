package dev.mamba.tests;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading a job's Parquet parts back in the tests, and comparing embedding columns. */
final class JobOutputs {
    private JobOutputs() {
    }

    /** Every row of {@code dir/part}, read with a short-lived local Spark session. */
    static List<Row> rows(Path dir, String part) {
        SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
        try {
            return spark.read().parquet(dir.resolve(part).toString()).collectAsList();
        } finally {
            spark.stop();
        }
    }

    /** The rows of {@code dir/part} by their first column (the sequence id). */
    static Map<String, Row> byId(Path dir, String part) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows(dir, part)) {
            m.put(r.getString(0), r);
        }
        return m;
    }

    static float[] floats(List<Float> l) {
        float[] a = new float[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }

    /** ‖got − want‖ / ‖want‖ for an array<float> column. */
    static double relErr(List<Float> got, float[] want) {
        return Fixtures.relErr(floats(got), want);
    }

    /**
     * The embed job's output in {@code out}: one row per record with its length, the mean and last hidden
     * states within {@code tol} of {@code expected} (per id: {mean, last}), and no error rows. {@code what}
     * names the run in failure messages.
     */
    static void assertEmbeddings(Path out, Map<String, String> records, Map<String, float[][]> expected, double tol,
                                 String what) {
        Map<String, Row> rows = byId(out, "embeddings");
        assertEquals(records.keySet(), rows.keySet(), what);
        for (Map.Entry<String, float[][]> e : expected.entrySet()) {
            Row r = rows.get(e.getKey());
            assertEquals(records.get(e.getKey()).length(), r.getLong(2), what + " " + e.getKey());
            double em = relErr(r.getList(3), e.getValue()[0]), el = relErr(r.getList(4), e.getValue()[1]);
            assertTrue(em <= tol && el <= tol, what + " " + e.getKey() + ": mean " + em + ", last " + el);
        }
        assertTrue(byId(out, "errors").isEmpty(), what + ": error rows");
    }
}
