package dev.mamba.jobs.spark;

import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.io.IoMessages;
import dev.mamba.pipeline.io.timeseries.CsvSplits;
import dev.mamba.pipeline.io.timeseries.TimeKind;
import dev.mamba.pipeline.io.timeseries.TimeSeriesCsvReader;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the tasks of a CSV read take: a whole file, or, for a file larger than the split size, one range of whole
 * records of it ({@link CsvSplits}), so that one large file is read by several tasks. Before that, two Spark jobs
 * over the ranges of the large files: one scans their quotes and line breaks (where records start), one checks
 * their structure (field counts, ids, quoting), so that a malformed large file fails the job, or is one error row
 * with {@code --on-error report}, before any of its rows is read, with the first fault in the file: what one read
 * of the whole file would report.
 */
final class CsvParts {
    private static final Logger LOG = LoggerFactory.getLogger(CsvParts.class);

    private CsvParts() {
    }

    /**
     * One task's share: {@code end < 0} the whole file (read as before), else the range {@code [start, end)} from
     * line {@code firstLine} with the file's time kind ({@code timeKind}: a {@link TimeKind} name); or, when
     * {@code error} is set, the file's structural error (--on-error report), to become its error row.
     */
    record Part(String id, String file, long start, long end, long firstLine, String timeKind, String error)
            implements Serializable {
        static Part whole(String id, String file) {
            return new Part(id, file, 0, -1, 1, null, null);
        }

        /** Range {@code r} of this whole file's part, its rows held to time kind {@code kind} (null: the range's own). */
        Part withRange(CsvSplits.Range r, TimeKind kind) {
            return new Part(id, file, r.start(), r.end(), r.firstLine(), kind == null ? null : kind.name(), null);
        }

        /** This whole file's part as its structural error. */
        Part withError(String fault) {
            return new Part(id, file, 0, -1, 1, null, fault);
        }

        boolean isRange() {
            return end >= 0;
        }

        CsvSplits.Range range() {
            return new CsvSplits.Range(start, end, firstLine);
        }

        TimeKind kind() {
            return timeKind == null ? null : TimeKind.valueOf(timeKind);
        }
    }

    /** The columns a read picks: the same for every file of a job. */
    record Columns(String idColumn, String timeColumn, List<String> values) implements Serializable {
        TimeSeriesCsvReader open(Part p) throws IOException {
            Path f = Path.of(p.file());
            return p.isRange() ? TimeSeriesCsvReader.range(f, idColumn, p.id(), timeColumn, values, p.range(), p.kind())
                    : new TimeSeriesCsvReader(f, idColumn, p.id(), timeColumn, values, (char) 0);
        }
    }

    /** The parts of {@code files} (with their series ids, for files without --id-column), in file order. */
    static List<Part> plan(SparkSession spark, List<Path> files, List<String> ids, Columns cols, long splitBytes,
                           boolean report) {
        List<Part> parts = new ArrayList<>();
        List<Integer> large = new ArrayList<>();
        List<long[]> cuts = new ArrayList<>();  // {file index, start, end}
        for (int i = 0; i < files.size(); i++) {
            parts.add(Part.whole(ids.get(i), files.get(i).toAbsolutePath().toString()));
            long size;
            try {
                size = Files.size(files.get(i));
            } catch (IOException e) {
                throw new UncheckedIOException(files.get(i) + ": " + IoMessages.reason(e), e);
            }
            if (size > splitBytes) {
                large.add(i);
                for (long[] c : CsvSplits.cuts(size, splitBytes)) {
                    cuts.add(new long[]{i, c[0], c[1]});
                }
            }
        }
        if (large.isEmpty()) {
            return parts;
        }
        long t0 = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<String> paths = parts.stream().map(Part::file).toList();
        List<CsvSplits.Scan> scans = jsc.parallelize(cuts, cuts.size()).map(c -> {
            String f = paths.get((int) c[0]);
            try {
                return CsvSplits.scan(Path.of(f), c[1], c[2]);
            } catch (IOException e) {
                throw new UncheckedIOException(f + ": " + IoMessages.reason(e), e);
            }
        }).collect();
        // each large file's ranges, with the time kind of its first readable row (read here: it is near the start)
        List<Part> ranges = new ArrayList<>();
        int at = 0;
        for (int i : large) {
            List<CsvSplits.Scan> mine = new ArrayList<>();
            while (at < cuts.size() && cuts.get(at)[0] == i) {
                mine.add(scans.get(at++));
            }
            List<CsvSplits.Range> rs = CsvSplits.ranges(mine);
            Part whole = parts.get(i);
            TimeKind kind = firstKind(cols, whole.withRange(rs.get(0), null));
            if (kind == null || rs.size() < 2) {
                continue;  // no readable time (or a broken header) in its first range: read whole, as before
            }
            for (CsvSplits.Range r : rs) {
                ranges.add(whole.withRange(r, kind));
            }
        }
        List<String> faults = ranges.isEmpty() ? List.of() : jsc.parallelize(ranges, ranges.size()).map(p -> {
            try (TimeSeriesCsvReader r = cols.open(p)) {
                while (r.nextCells() != null) {
                    // fields and ids only; times and values are the rows' own errors
                }
                return "";
            } catch (InputFormatException e) {
                return e.getMessage();
            } catch (IOException e) {
                throw new UncheckedIOException(p.file() + ": " + IoMessages.reason(e), e);
            }
        }).collect();
        // a large file is its ranges, or its first fault; the others stay whole
        List<Part> out = new ArrayList<>();
        int k = 0;
        for (int i = 0; i < parts.size(); i++) {
            String file = parts.get(i).file();
            if (k >= ranges.size() || !ranges.get(k).file().equals(file)) {
                out.add(parts.get(i));
                continue;
            }
            String fault = null;
            List<Part> mine = new ArrayList<>();
            for (; k < ranges.size() && ranges.get(k).file().equals(file); k++) {
                mine.add(ranges.get(k));
                fault = fault == null && !faults.get(k).isEmpty() ? faults.get(k) : fault;
            }
            if (fault == null) {
                out.addAll(mine);
            } else if (report) {
                out.add(parts.get(i).withError(fault));
            } else {
                throw new IllegalArgumentException(fault);
            }
        }
        LOG.info("CSV: {} file(s) over {} bytes read as {} ranges; scan and structure check {} ms", large.size(),
                splitBytes, ranges.size(), (System.nanoTime() - t0) / 1_000_000);
        return out;
    }

    /** The time kind of the first row of the range whose time reads; null when none does, or the range is malformed. */
    private static TimeKind firstKind(Columns cols, Part first) {
        try (TimeSeriesCsvReader r = cols.open(first)) {
            return CsvSplits.firstTimeKind(r);
        } catch (IOException e) {
            return null;  // the whole-file read reports it
        }
    }
}
