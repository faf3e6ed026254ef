package dev.mamba.jobs.source;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.ChunkReader;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;
import scala.Tuple3;

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
 * are the records to skip. When those streams hold at most one split's bytes ({@code splitSize}), the driver reads them
 * itself (a Spark job cost ~1.5 s on the 2-core dev machine for the README's 145 KB); otherwise one Spark job
 * does, a task per partition of the main read, and only the later places come back to the driver. A stream
 * that hits malformed bytes stops listing there, as the main read stops reading it; the main read reports the
 * error.
 */
final class RepeatedIds {
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
        List<List<InputStreamSpec>> scanned = new ArrayList<>();  // per partition
        long bytes = 0;
        for (ChunkPartition p : parts) {
            List<InputStreamSpec> l = new ArrayList<>();
            for (InputStreamSpec s : p.streams()) {
                if (streamsPerFile.get(s.path()) > 1) {
                    l.add(s);
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
        Map<String, List<Long>> later = bytes <= options.splitBytes ? findHere(scanned, format, options)
                : findInSpark(scanned, format, options);
        List<ChunkPartition> out = new ArrayList<>(parts.size());
        for (ChunkPartition p : parts) {
            List<InputStreamSpec> streams = new ArrayList<>(p.streams().size());
            for (InputStreamSpec s : p.streams()) {
                if (streamsPerFile.get(s.path()) > 1) {
                    List<Long> ks = later.getOrDefault(key(s.path(), s.start()), List.of());
                    s = s.withRepeated(ks.stream().mapToLong(Long::longValue).sorted().toArray());
                }
                streams.add(s);
            }
            out.add(new ChunkPartition(p.index(), List.copyOf(streams)));
        }
        return out;
    }

    private static String key(String path, long start) {
        return start + ":" + path;
    }

    /** Stream key → ordinals of its records that repeat an earlier id of the file, read by this JVM. */
    private static Map<String, List<Long>> findHere(List<List<InputStreamSpec>> parts, ChunkFormat format, SourceOptions options) {
        Map<Tuple2<String, String>, Place> first = new HashMap<>();
        for (List<InputStreamSpec> part : parts) {
            for (Iterator<Tuple2<Tuple2<String, String>, Place>> it = records(part, format, options); it.hasNext(); ) {
                Tuple2<Tuple2<String, String>, Place> r = it.next();
                first.merge(r._1(), r._2(), Place::merge);
            }
        }
        List<Tuple3<String, Long, Long>> found = new ArrayList<>();
        first.forEach((k, p) -> found.addAll(laterOf(k, p)));
        return byStream(found);
    }

    /** The same, one Spark job: a task per partition; only the later places come back. */
    private static Map<String, List<Long>> findInSpark(List<List<InputStreamSpec>> parts, ChunkFormat format, SourceOptions options) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(SparkSession.active().sparkContext());
        String description = sc.getLocalProperty("spark.job.description");
        sc.setJobDescription("duplicate record ids in " + parts.size() + " splits");
        try {
            return byStream(sc.parallelize(parts, parts.size())
                    .flatMapToPair(part -> records(part, format, options))
                    .reduceByKey(Place::merge)
                    .filter(kv -> kv._2().later != null)
                    .flatMap(kv -> laterOf(kv._1(), kv._2()).iterator())
                    .collect());
        } finally {
            sc.setJobDescription(description);
        }
    }

    private static List<Tuple3<String, Long, Long>> laterOf(Tuple2<String, String> fileAndId, Place p) {
        List<Tuple3<String, Long, Long>> l = new ArrayList<>();
        if (p.later != null) {
            for (long[] at : p.later) {
                l.add(new Tuple3<>(fileAndId._1(), at[0], at[1]));
            }
        }
        return l;
    }

    private static Map<String, List<Long>> byStream(List<Tuple3<String, Long, Long>> found) {
        Map<String, List<Long>> out = new HashMap<>();
        for (Tuple3<String, Long, Long> t : found) {
            out.computeIfAbsent(key(t._1(), t._2()), k -> new ArrayList<>()).add(t._3());
        }
        return out;
    }

    /** The records of a partition's streams, one stream after the other. */
    private static Iterator<Tuple2<Tuple2<String, String>, Place>> records(List<InputStreamSpec> streams, ChunkFormat format,
                                                                          SourceOptions options) {
        Iterator<InputStreamSpec> specs = streams.iterator();
        return new Iterator<>() {
            private Records current;

            @Override
            public boolean hasNext() {
                while ((current == null || !current.hasNext()) && specs.hasNext()) {
                    current = new Records(specs.next(), format, options);  // opened when reached, closed at its end
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

    /** Where a record starts: (stream start, ordinal in the stream); file order is their order. */
    static final class Place implements Serializable {
        private static final long serialVersionUID = 1L;
        long start;
        long ordinal;
        /** The later places of the same (file, id); null while there are none. */
        List<long[]> later;

        Place(long start, long ordinal) {
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
            first.later.add(new long[]{second.start, second.ordinal});
            if (second.later != null) {
                first.later.addAll(second.later);
            }
            return first;
        }
    }

    /** A stream's records as ((file, id), place), read lazily; malformed bytes end it. */
    private static final class Records implements Iterator<Tuple2<Tuple2<String, String>, Place>> {
        private final InputStreamSpec spec;
        private final ChunkReader in;
        private long ordinal;
        private Tuple2<Tuple2<String, String>, Place> next;
        private boolean done;

        Records(InputStreamSpec spec, ChunkFormat format, SourceOptions options) {
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
                    next = new Tuple2<>(new Tuple2<>(spec.path(), c.sequenceId()), new Place(spec.start(), ordinal++));
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
