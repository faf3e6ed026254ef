package dev.mamba.pipeline.io.timeseries;

/**
 * One CSV row: which series, when, and the values of the requested value columns (in the order asked).
 *
 * @param seriesId the id column's value (or the file name without extension when there is no id column)
 * @param time     the time column as a number: numbers as written, ISO-8601 dates/timestamps as epoch
 *                 milliseconds (UTC; fractional for sub-millisecond precision)
 * @param timeText the time column as written (for messages)
 * @param values   one value per value column
 * @param line     1-based line of the file where the row starts
 */
public record TimeSeriesRow(String seriesId, double time, String timeText, float[] values, long line) {
}
