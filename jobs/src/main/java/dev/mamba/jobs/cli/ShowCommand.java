package dev.mamba.jobs.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.LogicalTypeAnnotation.DecimalLogicalTypeAnnotation;
import org.apache.parquet.schema.LogicalTypeAnnotation.IntLogicalTypeAnnotation;
import org.apache.parquet.schema.LogicalTypeAnnotation.TimeLogicalTypeAnnotation;
import org.apache.parquet.schema.LogicalTypeAnnotation.TimestampLogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code show}: prints the rows of Parquet output as JSON lines, read with parquet-hadoop directly (no
 * Spark start-up). Arrays become JSON arrays, maps JSON objects, nulls null; column order is kept.
 */
@Command(name = "show", mixinStandardHelpOptions = true,
        description = {
                "Prints Parquet rows as JSON lines (one object per row, columns in schema order; lists as arrays, "
                        + "maps and structs as objects, missing values as null; dates, times and timestamps as "
                        + "ISO-8601 strings (timestamps in UTC), binary as base64, NaN/Infinity as strings).",
                "PATH is a Parquet file, a Parquet directory (its part files in name order), or a job output "
                        + "directory (subdirectories such as embeddings/ and errors/): then every part is shown in "
                        + "name order, each preceded by a line {\"part\":\"NAME\"}, unless --part picks one "
                        + "(shown without that line)."})
public final class ShowCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PATH", description = "Parquet file, Parquet directory or job output directory.")
    Path path;

    @Option(names = "--limit", paramLabel = "N", description = "Print at most N rows (per part of a job output; default: all).")
    Long limit;

    @Option(names = "--part", paramLabel = "NAME", description = "Job output directories: show only this part (e.g. embeddings, errors).")
    String part;

    @Override
    public Integer call() throws IOException {
        if (!Files.exists(path)) {
            throw new UserError(path + " does not exist (expected a Parquet file, a Parquet directory or a job output directory)");
        }
        if (limit != null && limit < 0) {
            throw new UserError("--limit must be >= 0, is " + limit);
        }
        long max = limit == null ? Long.MAX_VALUE : limit;
        // JSON is UTF-8 whatever the locale (RFC 8259), so bytes go to stdout directly, not through a Writer.
        PrintStream out = System.out;
        JsonGenerator gen = new JsonFactory().createGenerator(out, JsonEncoding.UTF8);
        gen.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        gen.setPrettyPrinter(new MinimalPrettyPrinter(""));
        try {
            if (Files.isRegularFile(path)) {
                requireNoPart();
                show(List.of(path), max, gen, out);
                return 0;
            }
            List<Path> files = parquetFiles(path);
            if (!files.isEmpty()) {
                requireNoPart();
                show(files, max, gen, out);
                return 0;
            }
            List<Path> parts = parts(path);
            if (parts.isEmpty()) {
                throw new UserError(path + ": no Parquet files and no part directories holding them");
            }
            if (part != null) {
                Path p = parts.stream().filter(x -> x.getFileName().toString().equals(part)).findFirst()
                        .orElseThrow(() -> new UserError(path + ": no part '" + part + "' (parts: " + names(parts) + ")"));
                show(parquetFiles(p), max, gen, out);
                return 0;
            }
            for (Path p : parts) {
                gen.writeStartObject();
                gen.writeStringField("part", p.getFileName().toString());
                gen.writeEndObject();
                endLine(gen);
                boolean open = show(parquetFiles(p), max, gen, out);
                gen.flush();
                if (!open || out.checkError()) {
                    break;
                }
            }
            return 0;
        } finally {
            gen.flush();
            out.flush();
        }
    }

    private void requireNoPart() {
        if (part != null) {
            throw new UserError("--part applies to job output directories; " + path + " is Parquet data itself");
        }
    }

    private static String names(List<Path> parts) {
        return parts.stream().map(p -> p.getFileName().toString()).collect(Collectors.joining(", "));
    }

    /** Part files of a Parquet directory in name order (Spark's {@code part-*}, or any {@code *.parquet}). */
    static List<Path> parquetFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString();
                return !hidden(n) && !n.endsWith(".crc") && (n.endsWith(".parquet") || n.startsWith("part-"));
            }).sorted().collect(Collectors.toList());
        }
    }

    /** Subdirectories that hold Parquet files, in name order. */
    static List<Path> parts(Path dir) throws IOException {
        List<Path> parts = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s.sorted()::iterator) {
                if (Files.isDirectory(p) && !hidden(p.getFileName().toString()) && !parquetFiles(p).isEmpty()) {
                    parts.add(p);
                }
            }
        }
        return parts;
    }

    // Spark and Hadoop mark bookkeeping files (_SUCCESS, _temporary, .crc, staging dirs) with these prefixes.
    private static boolean hidden(String name) {
        return name.startsWith(".") || name.startsWith("_");
    }

    /** Prints up to {@code max} rows of the files; false when the reader of stdout has gone away. */
    private static boolean show(List<Path> files, long max, JsonGenerator gen, PrintStream out) throws IOException {
        long left = max;
        long written = 0;
        for (Path f : files) {
            if (left <= 0) {
                break;
            }
            try (ParquetFileReader r = open(f)) {
                MessageType schema = r.getFooter().getFileMetaData().getSchema();
                MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
                PageReadStore pages;
                while (left > 0 && (pages = r.readNextRowGroup()) != null) {
                    RecordReader<Group> rows = io.getRecordReader(pages, new GroupRecordConverter(schema));
                    for (long k = pages.getRowCount(); k > 0 && left > 0; k--, left--) {
                        writeRow(gen, rows.read(), schema);
                        endLine(gen);
                        // PrintStream swallows IO errors: a closed pipe (| head) shows up here only.
                        if (++written % 64 == 0) {
                            gen.flush();
                            if (out.checkError()) {
                                return false;
                            }
                        }
                    }
                }
            } catch (UserError e) {
                throw e;  // from open(): names the file already
            } catch (RuntimeException | IOException e) {
                throw new UserError(f + ": cannot read as Parquet: " + reason(e, f), e);
            }
        }
        return true;
    }

    private static ParquetFileReader open(Path f) throws IOException {
        try {
            // Page checksums checked: parquet-mr writes a CRC per page but reads without checking it by default, so
            // bytes damaged inside a page came out as wrong values, not an error.
            return ParquetFileReader.open(new LocalInputFile(f),
                    ParquetReadOptions.builder().usePageChecksumVerification(true).build());
        } catch (RuntimeException | IOException e) {
            throw new UserError(f + ": not a readable Parquet file: " + reason(e, f), e);
        }
    }

    private static final Pattern READER_ID = Pattern.compile("[\\w.$]*LocalInputFile@\\p{XDigit}+");

    /**
     * Why parquet-hadoop could not read {@code f}, in words. Its messages start with the input file's object id
     * ("org.apache.parquet.io.LocalInputFile@4ff4357f is not a Parquet file...") or repeat the path, which
     * the caller prints once already.
     */
    static String reason(Throwable e, Path f) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        m = READER_ID.matcher(m.replace(f.toString(), "")).replaceAll("").strip();
        if (m.startsWith(":")) {
            m = m.substring(1).strip();
        }
        if (m.startsWith("is not a Parquet file. Expected magic number at tail")) {
            return "no PAR1 magic number at its end";
        }
        Matcher tooShort = Pattern.compile("is not a Parquet file \\(length is too low: (\\d+)\\)").matcher(m);
        if (tooShort.lookingAt()) {
            return "too short to be Parquet (" + tooShort.group(1) + " bytes)";
        }
        if (e instanceof java.nio.file.FileSystemException) {
            // NIO's message is the path alone: say why instead (and the path, if it is another file)
            return dev.mamba.pipeline.io.IoMessages.reason((IOException) e).replace(" (" + f + ")", "");
        }
        return m.isEmpty() ? e.getClass().getSimpleName() : m;
    }

    private static void endLine(JsonGenerator gen) throws IOException {
        gen.writeRaw('\n');
    }

    /** One row as a JSON object, columns in schema order. */
    static void writeRow(JsonGenerator g, Group row, GroupType schema) throws IOException {
        g.writeStartObject();
        for (int i = 0; i < schema.getFieldCount(); i++) {
            g.writeFieldName(schema.getFieldName(i));
            writeField(g, row, i, schema.getType(i));
        }
        g.writeEndObject();
    }

    private static void writeField(JsonGenerator g, Group grp, int i, Type t) throws IOException {
        int n = grp.getFieldRepetitionCount(i);
        if (t.isRepetition(Type.Repetition.REPEATED)) {
            g.writeStartArray();
            for (int k = 0; k < n; k++) {
                writeValue(g, grp, i, k, t);
            }
            g.writeEndArray();
        } else if (n == 0) {
            g.writeNull();
        } else {
            writeValue(g, grp, i, 0, t);
        }
    }

    private static void writeValue(JsonGenerator g, Group grp, int i, int k, Type t) throws IOException {
        if (t.isPrimitive()) {
            writeScalar(g, scalar(grp, i, k, t.asPrimitiveType()));
            return;
        }
        GroupType gt = t.asGroupType();
        Group v = grp.getGroup(i, k);
        LogicalTypeAnnotation la = gt.getLogicalTypeAnnotation();
        boolean oneRepeated = gt.getFieldCount() == 1 && gt.getType(0).isRepetition(Type.Repetition.REPEATED);
        if (la instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation && oneRepeated) {
            writeList(g, v, gt);
        } else if ((la instanceof LogicalTypeAnnotation.MapLogicalTypeAnnotation
                || la instanceof LogicalTypeAnnotation.MapKeyValueTypeAnnotation) && oneRepeated
                && !gt.getType(0).isPrimitive()) {
            writeMap(g, v, gt.getType(0).asGroupType());
        } else {
            writeRow(g, v, gt);
        }
    }

    /** LIST: the standard three levels (list / repeated group / element) and the legacy two-level forms. */
    private static void writeList(JsonGenerator g, Group list, GroupType gt) throws IOException {
        Type rep = gt.getType(0);
        int m = list.getFieldRepetitionCount(0);
        // Parquet's backward-compatibility rules: a repeated group with one field is the element wrapper,
        // unless it is named "array" or "<list>_tuple" (then the group itself is the element).
        boolean wrapper = !rep.isPrimitive() && rep.asGroupType().getFieldCount() == 1
                && !rep.getName().equals("array") && !rep.getName().equals(gt.getName() + "_tuple");
        g.writeStartArray();
        for (int e = 0; e < m; e++) {
            if (wrapper) {
                writeField(g, list.getGroup(0, e), 0, rep.asGroupType().getType(0));
            } else if (rep.isPrimitive()) {
                writeScalar(g, scalar(list, 0, e, rep.asPrimitiveType()));
            } else {
                writeRow(g, list.getGroup(0, e), rep.asGroupType());
            }
        }
        g.writeEndArray();
    }

    /** MAP: an object; keys are written as text (JSON keys are strings). */
    private static void writeMap(JsonGenerator g, Group map, GroupType kv) throws IOException {
        int m = map.getFieldRepetitionCount(0);
        g.writeStartObject();
        for (int e = 0; e < m; e++) {
            Group entry = map.getGroup(0, e);
            Object key = kv.getType(0).isPrimitive() && entry.getFieldRepetitionCount(0) > 0
                    ? scalar(entry, 0, 0, kv.getType(0).asPrimitiveType()) : null;
            g.writeFieldName(String.valueOf(key));
            if (kv.getFieldCount() > 1) {
                writeField(g, entry, 1, kv.getType(1));
            } else {
                g.writeNull();
            }
        }
        g.writeEndObject();
    }

    private static void writeScalar(JsonGenerator g, Object v) throws IOException {
        if (v instanceof Boolean) {
            g.writeBoolean((Boolean) v);
        } else if (v instanceof Integer) {
            g.writeNumber((Integer) v);
        } else if (v instanceof Long) {
            g.writeNumber((Long) v);
        } else if (v instanceof Float) {
            g.writeNumber((Float) v);
        } else if (v instanceof Double) {
            g.writeNumber((Double) v);
        } else if (v instanceof BigDecimal) {
            g.writeNumber((BigDecimal) v);
        } else if (v instanceof BigInteger) {
            g.writeNumber((BigInteger) v);
        } else {
            g.writeString(String.valueOf(v));
        }
    }

    /** A primitive value as the Java object it should print as, following its logical type. */
    static Object scalar(Group grp, int i, int k, PrimitiveType t) {
        LogicalTypeAnnotation la = t.getLogicalTypeAnnotation();
        switch (t.getPrimitiveTypeName()) {
            case BOOLEAN:
                return grp.getBoolean(i, k);
            case INT32: {
                int v = grp.getInteger(i, k);
                if (la instanceof LogicalTypeAnnotation.DateLogicalTypeAnnotation) {
                    return LocalDate.ofEpochDay(v).toString();
                }
                if (la instanceof DecimalLogicalTypeAnnotation) {
                    return BigDecimal.valueOf(v, ((DecimalLogicalTypeAnnotation) la).getScale());
                }
                if (la instanceof TimeLogicalTypeAnnotation) {
                    return LocalTime.ofNanoOfDay(v * 1_000_000L).toString();
                }
                if (la instanceof IntLogicalTypeAnnotation && !((IntLogicalTypeAnnotation) la).isSigned()) {
                    return Integer.toUnsignedLong(v);
                }
                return v;
            }
            case INT64: {
                long v = grp.getLong(i, k);
                if (la instanceof DecimalLogicalTypeAnnotation) {
                    return BigDecimal.valueOf(v, ((DecimalLogicalTypeAnnotation) la).getScale());
                }
                if (la instanceof TimestampLogicalTypeAnnotation) {
                    TimestampLogicalTypeAnnotation ts = (TimestampLogicalTypeAnnotation) la;
                    Instant at = instant(v, ts.getUnit());
                    return ts.isAdjustedToUTC() ? at.toString() : LocalDateTime.ofInstant(at, ZoneOffset.UTC).toString();
                }
                if (la instanceof TimeLogicalTypeAnnotation) {
                    long nanos = ((TimeLogicalTypeAnnotation) la).getUnit() == LogicalTypeAnnotation.TimeUnit.MICROS
                            ? v * 1000 : v;
                    return LocalTime.ofNanoOfDay(nanos).toString();
                }
                if (la instanceof IntLogicalTypeAnnotation && !((IntLogicalTypeAnnotation) la).isSigned()) {
                    return new BigInteger(Long.toUnsignedString(v));
                }
                return v;
            }
            case INT96:
                return int96(grp.getInt96(i, k)).toString();
            case FLOAT:
                return grp.getFloat(i, k);
            case DOUBLE:
                return grp.getDouble(i, k);
            default: { // BINARY, FIXED_LEN_BYTE_ARRAY
                Binary b = grp.getBinary(i, k);
                if (la instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation
                        || la instanceof LogicalTypeAnnotation.EnumLogicalTypeAnnotation
                        || la instanceof LogicalTypeAnnotation.JsonLogicalTypeAnnotation) {
                    return b.toStringUsingUTF8();
                }
                if (la instanceof DecimalLogicalTypeAnnotation) {
                    return new BigDecimal(new BigInteger(b.getBytes()), ((DecimalLogicalTypeAnnotation) la).getScale());
                }
                if (la instanceof LogicalTypeAnnotation.UUIDLogicalTypeAnnotation) {
                    ByteBuffer bb = b.toByteBuffer();
                    return new UUID(bb.getLong(), bb.getLong()).toString();
                }
                return Base64.getEncoder().encodeToString(b.getBytes());
            }
        }
    }

    private static Instant instant(long v, LogicalTypeAnnotation.TimeUnit unit) {
        switch (unit) {
            case MILLIS:
                return Instant.ofEpochMilli(v);
            case MICROS:
                return Instant.ofEpochSecond(Math.floorDiv(v, 1_000_000L), Math.floorMod(v, 1_000_000L) * 1000);
            default:
                return Instant.ofEpochSecond(Math.floorDiv(v, 1_000_000_000L), Math.floorMod(v, 1_000_000_000L));
        }
    }

    /** Legacy INT96 timestamps (Spark, Impala): nanoseconds of the day, then the Julian day, little-endian. */
    static Instant int96(Binary b) {
        ByteBuffer bb = b.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long nanosOfDay = bb.getLong();
        long julianDay = Integer.toUnsignedLong(bb.getInt());
        long epochDay = julianDay - 2_440_588L; // Julian day of 1970-01-01
        return Instant.ofEpochSecond(epochDay * 86_400L).plusNanos(nanosOfDay);
    }
}
