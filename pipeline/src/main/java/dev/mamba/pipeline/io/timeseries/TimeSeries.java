package dev.mamba.pipeline.io.timeseries;

import dev.mamba.pipeline.io.InputFormatException;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One series in time order: {@code times[i]} and the {@code features} values of step i at
 * {@code values[i * features ...]}; {@code lines[i]} is the CSV line step i came from.
 */
public record TimeSeries(String id, double[] times, float[] values, int features, long[] lines) {

    /** Number of steps. */
    public int length() {
        return times.length;
    }

    /**
     * Groups rows of many series (in any order) by series id, in order of first appearance, and sorts each
     * series by time (stable). Holds everything in memory: for tests and small inputs (in Spark the
     * grouping and sort are Spark's).
     *
     * @param file for messages
     * @throws InputFormatException for two rows of one series with the same time, or rows whose value
     *                              counts differ
     */
    public static List<TimeSeries> group(String file, List<TimeSeriesRow> rows) throws InputFormatException {
        Map<String, List<TimeSeriesRow>> bySeries = new LinkedHashMap<>();
        int features = -1;
        for (TimeSeriesRow r : rows) {
            if (features < 0) {
                features = r.values().length;
            } else if (r.values().length != features) {
                throw InputFormatException.atLine(file, r.line(), r.values().length + " values, earlier rows have "
                        + features);
            }
            bySeries.computeIfAbsent(r.seriesId(), k -> new ArrayList<>()).add(r);
        }
        List<TimeSeries> out = new ArrayList<>(bySeries.size());
        for (Map.Entry<String, List<TimeSeriesRow>> e : bySeries.entrySet()) {
            List<TimeSeriesRow> s = e.getValue();
            s.sort(Comparator.comparingDouble(TimeSeriesRow::time)); // List.sort is stable: equal times keep file order
            int n = s.size();
            double[] times = new double[n];
            long[] lines = new long[n];
            float[] values = new float[n * features];
            for (int i = 0; i < n; i++) {
                TimeSeriesRow r = s.get(i);
                if (i > 0 && r.time() == times[i - 1]) {
                    TimeSeriesRow prev = s.get(i - 1);
                    long a = Math.min(prev.line(), r.line());
                    long b = Math.max(prev.line(), r.line());
                    String first = prev.line() < r.line() ? prev.timeText() : r.timeText();
                    String second = prev.line() < r.line() ? r.timeText() : prev.timeText();
                    throw new InputFormatException(file + ": series " + e.getKey() + ": duplicate time " + first
                            + " at lines " + a + " and " + b + (first.equals(second) ? "" : " (written '" + second
                            + "' there)"));
                }
                times[i] = r.time();
                lines[i] = r.line();
                System.arraycopy(r.values(), 0, values, i * features, features);
            }
            out.add(new TimeSeries(e.getKey(), times, values, features, lines));
        }
        return out;
    }

    /** An epoch-millisecond time as an ISO-8601 instant, e.g. {@code 2024-01-01T00:00:00Z}. */
    public static String formatMillis(double epochMillis) {
        long ms = (long) Math.floor(epochMillis);
        long nanos = Math.round((epochMillis - ms) * 1e6);
        return Instant.ofEpochMilli(ms).plusNanos(nanos).toString();
    }
}
