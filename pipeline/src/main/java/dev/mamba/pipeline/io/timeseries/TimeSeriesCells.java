package dev.mamba.pipeline.io.timeseries;

/**
 * One CSV data row before its time and values are parsed: the series it belongs to, and the time and value
 * fields as written (trimmed), in the order of the value columns asked for.
 *
 * @param line 1-based line of the file where the row starts
 */
public record TimeSeriesCells(String seriesId, String timeText, String[] values, long line) {
}
