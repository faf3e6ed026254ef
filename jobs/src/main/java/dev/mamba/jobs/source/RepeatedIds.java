package dev.mamba.jobs.source;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.ChunkReader;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Finds, before a read, the records of plain FASTA/FASTQ files whose id an earlier record of the same file
 * already had, so that the one kept is the first in the file whatever {@code splitSize} and {@code lanes} cut it
 * into. Without this, each task compared ids only among the records it read, and kept the one it read first:
 * two records in different splits both came out, and which of two in one split's interleaved byte ranges was
 * kept depended on how far each range had got.
 *
 * <p>The streams of every file cut into more than one are read and each record's id listed with its place
 * (stream start, ordinal in the stream). Per (file, id) the first place is the record kept; any later places
 * are the records to skip. When those streams hold at most {@link #DRIVER_BYTES} (and one split's bytes), the
 * driver reads them itself (a Spark job cost ~1.5 s on the 2-core dev machine for the README's 145 KB; the driver's
 * map costs ~155 bytes per record); otherwise one Spark job does, a task per partition of the main read, and only
 * the ordinals to skip come back to the driver, as one {@code long[]} per stream (8 bytes per duplicate: a file of
 * interleaved read pairs whose mates share an id sends half its record count). A stream that hits malformed bytes
 * stops listing there, as the main read stops reading it; the main read reports the error.
 */
final class RepeatedIds {
    /** Most bytes the driver scans itself; more go to a Spark job. */
    static final long DRIVER_BYTES = 16L << 20;

    private RepeatedIds() {
    }

    /**
     * The partitions with every stream of a pre-scanned file carrying its {@link InputStreamSpec#repeated}
     * ordinals (empty when none); streams of files read as one stream are unchanged (their task's
     * {@code SeenIds} already reads them in file order).
     */
    static List<ChunkPartition> mark(List<ChunkPartition> parts, ChunkFormat format, SourceOptions options) {
        Map<String, Integer> streamsPerFile = new HashMap<>();
        for (ChunkPartition p : parts) {
            for (InputStreamSpec s : p.streams()) {
                streamsPerFile.merge(s.path(), 1, Integer::sum);
            }
        }
        // the scanned streams, numbered, grouped as the main read's partitions
        List<List<Tuple2<Integer, InputStreamSpec>>> scanned = new ArrayList<>();
        int n = 0;
        long bytes = 0;
        for (ChunkPartition p : parts) {
            List<Tuple2<Integer, InputStreamSpec>> l = new ArrayList<>();
            for (InputStreamSpec s : p.streams()) {
                if (streamsPerFile.get(s.path()) > 1) {
                    l.add(new Tuple2<>(n++, s));
                    bytes += s.end() - s.start();
                }
            }
            if (!l.isEmpty()) {
                scanned.add(l);
            }
        }
        if (scanned.isEmpty()) {
            return parts;
        }
        Map<Integer, long[]> repeated = bytes <= Math.min(DRIVER_BYTES, options.splitBytes)
                ? findHere(scanned, format, options) : findInSpark(scanned, format, options);
        List<ChunkPartition> out = new ArrayList<>(parts.size());
        n = 0;
        for (ChunkPartition p : parts) {
            List<InputStreamSpec> streams = new ArrayList<>(p.streams().size());
            for (InputStreamSpec s : p.streams()) {
                if (streamsPerFile.get(s.path()) > 1) {
                    s = s.withRepeated(repeated.getOrDefault(n++, new long[0]));
                }
                streams.add(s);
            }
            out.add(new ChunkPartition(p.index(), List.copyOf(streams)));
        }
        return out;
    }

    /** Stream number → ordinals of its records that repeat an earlier id of the file, ascending; read by this JVM. */
    private static Map<Integer, long[]> findHere(List<List<Tuple2<Integer, InputStreamSpec>>> parts, ChunkFormat format,
                                                SourceOptions options) {
        Map<Tuple2<String, String>, Place> first = new HashMap<>();
        for (List<Tuple2<Integer, InputStreamSpec>> part : parts) {
            for (Iterator<Tuple2<Tuple2<String, String>, Place>> it = records(part, format, options); it.hasNext(); ) {
                Tuple2<Tuple2<String, String>, Place> r = it.next();
                first.merge(r._1(), r._2(), Place::merge);
            }
        }
        Map<Integer, List<Long>> byStream = new HashMap<>();
        for (Place p : first.values()) {
            for (Tuple2<Integer, Long> at : p.laterPlaces()) {
                byStream.computeIfAbsent(at._1(), k -> new ArrayList<>()).add(at._2());
            }
        }
        Map<Integer, long[]> out = new HashMap<>();
        byStream.forEach((k, v) -> out.put(k, sorted(v)));
        return out;
    }

    /** The same, one Spark job: a task per partition; the ordinals come back as one array per stream. */
    private static Map<Integer, long[]> findInSpark(List<List<Tuple2<Integer, InputStreamSpec>>> parts, ChunkFormat format,
                                                   SourceOptions options) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkSession.active().sparkContext());
        String description = sc.getLocalProperty("spark.job.description");
        sc.setJobDescription("duplicate record ids in " + parts.size() + " splits");
        try {
            return new HashMap<>(sc.parallelize(parts, parts.size())
                    .flatMapToPair(part -> records(part, format, options))
                    .reduceByKey(Place::merge)
                    .flatMapToPair(kv -> kv._2().laterPlaces().iterator())
                    .groupByKey()
                    .mapValues(RepeatedIds::sorted)
                    .collectAsMap());
        } finally {
            sc.setJobDescription(description);
        }
    }

    private static long[] sorted(Iterable<Long> ordinals) {
        List<Long> l = new ArrayList<>();
        ordinals.forEach(l::add);
        return l.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    /** The records of a partition's streams, one stream after the other. */
    private static Iterator<Tuple2<Tuple2<String, String>, Place>> records(List<Tuple2<Integer, InputStreamSpec>> streams,
                                                                          ChunkFormat format, SourceOptions options) {
        Iterator<Tuple2<Integer, InputStreamSpec>> specs = streams.iterator();
        return new Iterator<>() {
            private Records current;

            @Override
            public boolean hasNext() {
                while ((current == null || !current.hasNext()) && specs.hasNext()) {
                    Tuple2<Integer, InputStreamSpec> s = specs.next();
                    current = new Records(s._1(), s._2(), format, options);  // opened when reached, closed at its end
                }
                return current != null && current.hasNext();
            }

            @Override
            public Tuple2<Tuple2<String, String>, Place> next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return current.next();
            }
        };
    }

    /**
     * Where a record starts: its stream's number and start, and its ordinal in the stream. Within a file, (start,
     * ordinal) is file order.
     */
    static final class Place implements Serializable {
        private static final long serialVersionUID = 1L;
        final int stream;
        final long start;
        final long ordinal;
        /** The later places of the same (file, id) as {stream, ordinal}; null while there are none. */
        List<long[]> later;

        Place(int stream, long start, long ordinal) {
            this.stream = stream;
            this.start = start;
            this.ordinal = ordinal;
        }

        private boolean before(Place o) {
            return start != o.start ? start < o.start : ordinal < o.ordinal;
        }

        /** The first of both stays first; everything else is later. */
        static Place merge(Place a, Place b) {
            Place first = a.before(b) ? a : b, second = first == a ? b : a;
            if (first.later == null) {
                first.later = new ArrayList<>();
            }
            first.later.add(new long[]{second.stream, second.ordinal});
            if (second.later != null) {
                first.later.addAll(second.later);
            }
            return first;
        }

        /** The later places as (stream, ordinal): the records to skip. */
        List<Tuple2<Integer, Long>> laterPlaces() {
            List<Tuple2<Integer, Long>> l = new ArrayList<>();
            if (later != null) {
                for (long[] at : later) {
                    l.add(new Tuple2<>((int) at[0], at[1]));
                }
            }
            return l;
        }
    }

    /** A stream's records as ((file, id), place), read lazily; malformed bytes end it. */
    private static final class Records implements Iterator<Tuple2<Tuple2<String, String>, Place>> {
        private final int stream;
        private final InputStreamSpec spec;
        private final ChunkReader in;
        private long ordinal;
        private Tuple2<Tuple2<String, String>, Place> next;
        private boolean done;

        Records(int stream, InputStreamSpec spec, ChunkFormat format, SourceOptions options) {
            this.stream = stream;
            this.spec = spec;
            ChunkReader r;
            try {
                r = format.open(spec, options);
            } catch (IOException | UncheckedIOException e) {
                r = null;  // as below: the main read reports it
            }
            this.in = r;
            this.done = r == null;
        }

        @Override
        public boolean hasNext() {
            while (next == null && !done) {
                Chunk c;
                try {
                    c = in.next();
                } catch (IOException | UncheckedIOException e) {
                    c = null;  // the main read reports it, with the records read before it
                }
                if (c == null) {
                    done = true;
                    try {
                        in.close();
                    } catch (IOException e) {
                        // nothing more was to be read from it
                    }
                } else if (c.chunkIndex() == 0) {
                    next = new Tuple2<>(new Tuple2<>(spec.path(), c.sequenceId()), new Place(stream, spec.start(), ordinal++));
                }
            }
            return next != null;
        }

        @Override
        public Tuple2<Tuple2<String, String>, Place> next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Tuple2<Tuple2<String, String>, Place> r = next;
            next = null;
            return r;
        }
    }
}
