package dev.mamba.pipeline.io.timeseries;

/** How a CSV's time column is written; one file uses one kind. */
public enum TimeKind {
    /** Plain numbers (any unit), taken as they are. */
    NUMBER,
    /** ISO-8601 dates or timestamps, converted to epoch milliseconds (UTC when no offset is given). */
    TIMESTAMP
}
