package dev.mamba.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mamba.jobs.cli.Main;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.TimestampType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** {@code show} prints exactly the rows Spark reads back, as JSON lines, for every column type our jobs write and more. */
class ShowCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path data;
    static Path job;
    static StructType schema;
    /** The rows written, by id. */
    static Map<Long, Row> expected = new HashMap<>();
    static int embeddingRows;

    @BeforeAll
    static void write() throws Exception {
        schema = new StructType(new StructField[]{
                DataTypes.createStructField("id", DataTypes.LongType, false),
                DataTypes.createStructField("name", DataTypes.StringType, true),
                DataTypes.createStructField("score", DataTypes.DoubleType, true),
                DataTypes.createStructField("vec", DataTypes.createArrayType(DataTypes.FloatType, true), true),
                DataTypes.createStructField("tags", DataTypes.createMapType(DataTypes.StringType, DataTypes.IntegerType), true),
                DataTypes.createStructField("inner", new StructType()
                        .add("a", DataTypes.IntegerType).add("b", DataTypes.StringType), true),
                DataTypes.createStructField("flag", DataTypes.BooleanType, true),
                DataTypes.createStructField("day", DataTypes.DateType, true),
                DataTypes.createStructField("ts", DataTypes.TimestampType, true),
                DataTypes.createStructField("amount", DataTypes.createDecimalType(10, 2), true),
                DataTypes.createStructField("raw", DataTypes.BinaryType, true),
                DataTypes.createStructField("small", DataTypes.ShortType, true),
                DataTypes.createStructField("nested", DataTypes.createArrayType(
                        DataTypes.createArrayType(DataTypes.IntegerType)), true)});
        List<Row> rows = new ArrayList<>();
        rows.add(RowFactory.create(1L, "plain", 1.5, List.of(1.0f, -2.5f, 0.1f), Map.of("x", 1, "y", -2),
                RowFactory.create(7, "s"), true, Date.valueOf("2024-02-29"),
                Timestamp.from(Instant.parse("2024-03-01T12:34:56.789012Z")), new BigDecimal("12.34"),
                new byte[]{1, 2, (byte) 0xff}, (short) 5, List.of(List.of(1, 2), List.of())));
        rows.add(RowFactory.create(2L, "quote \" backslash \\ newline \n tab \t é 😀", Double.NaN,
                Arrays.asList(null, 3.0f, Float.MIN_VALUE), Map.of(), RowFactory.create(null, null), false, null,
                Timestamp.from(Instant.parse("1969-12-31T23:59:59.5Z")), new BigDecimal("-0.01"), new byte[0], null,
                null));
        rows.add(RowFactory.create(3L, null, null, null, null, null, null, null, null, null, null, null, null));
        Random rnd = new Random(5);
        for (long id = 4; id <= 60; id++) {
            List<Float> v = new ArrayList<>();
            for (int j = 0; j < 1 + rnd.nextInt(9); j++) {
                v.add(rnd.nextFloat() * 2 - 1);
            }
            rows.add(RowFactory.create(id, "r" + id, rnd.nextGaussian(), v, Map.of("k" + id, (int) id),
                    RowFactory.create((int) id, "b"), id % 2 == 0, Date.valueOf("2000-01-01"), null,
                    BigDecimal.valueOf(id * 101, 2), new byte[]{(byte) id}, (short) -id, List.of(List.of((int) id))));
        }
        data = tmp.resolve("data");
        job = Files.createDirectories(tmp.resolve("job"));
        for (Row r : rows) {
            expected.put(r.getLong(0), r);
        }
        // maxRecordsPerFile splits the data into several part files without a shuffle.
        SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false")
                .config("spark.sql.files.maxRecordsPerFile", "25").getOrCreate();
        try {
            Dataset<Row> df = spark.createDataFrame(rows, schema);
            df.write().parquet(data.toString());
            // A job output: two parts, bookkeeping files, an empty part.
            df.filter("id <= 20").select("id", "vec").coalesce(2).write().parquet(job.resolve("embeddings").toString());
            embeddingRows = 20;
            df.filter("id < 0").select("id", "name").write().parquet(job.resolve("errors").toString());
            Files.writeString(job.resolve("summary.json"), "{}");
            Files.writeString(job.resolve("_SUCCESS"), "");
        } finally {
            spark.stop();
        }
        assertEquals(60, expected.size());
    }

    /** Runs the command; returns {exit code, stdout, stderr}. */
    static Object[] run(String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int rc = Main.run(args);
            System.out.flush();
            return new Object[]{rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    static List<JsonNode> lines(String stdout) throws Exception {
        List<JsonNode> l = new ArrayList<>();
        for (String s : stdout.split("\n", -1)) {
            if (!s.isEmpty()) {
                l.add(JSON.readTree(s));
            }
        }
        assertTrue(stdout.isEmpty() || stdout.endsWith("\n"), "output ends with a newline");
        return l;
    }

    static List<JsonNode> show(String... args) throws Exception {
        Object[] r = run(args);
        assertEquals(0, r[0], "exit code; stderr: " + r[2]);
        return lines((String) r[1]);
    }

    /** Checks one printed row against the row Spark read, column by column, in schema order. */
    static void checkRow(JsonNode got, Row want, StructType st) {
        List<String> names = new ArrayList<>();
        got.fieldNames().forEachRemaining(names::add);
        assertEquals(Arrays.asList(st.fieldNames()), names, "column order");
        for (int i = 0; i < st.size(); i++) {
            check(got.get(st.fields()[i].name()), want.isNullAt(i) ? null : want.get(i), st.fields()[i].dataType(),
                    "row " + want.get(0) + " column " + st.fields()[i].name());
        }
    }

    static void check(JsonNode got, Object want, DataType t, String where) {
        if (want == null) {
            assertTrue(got.isNull(), where + ": expected null, got " + got);
            return;
        }
        if (t instanceof LongType || t instanceof IntegerType || t instanceof ShortType) {
            assertTrue(got.isIntegralNumber(), where + ": " + got);
            assertEquals(((Number) want).longValue(), got.longValue(), where);
        } else if (t instanceof FloatType) {
            assertEquals((Float) want, got.floatValue(), 0f, where + ": " + got);
        } else if (t instanceof DoubleType) {
            double w = (Double) want;
            if (Double.isNaN(w)) {
                assertEquals("NaN", got.asText(), where);
            } else {
                assertEquals(w, got.doubleValue(), 0.0, where);
            }
        } else if (t instanceof StringType) {
            assertEquals(want, got.textValue(), where);
        } else if (t instanceof BooleanType) {
            assertEquals(want, got.booleanValue(), where);
        } else if (t instanceof DateType) {
            assertEquals(want.toString(), got.textValue(), where);
        } else if (t instanceof TimestampType) {
            assertEquals(((Timestamp) want).toInstant(), Instant.parse(got.textValue()), where);
        } else if (t instanceof DecimalType) {
            assertEquals(0, ((BigDecimal) want).compareTo(got.decimalValue()), where + ": " + got);
        } else if (t instanceof BinaryType) {
            assertArrayEquals((byte[]) want, Base64.getDecoder().decode(got.textValue()), where);
        } else if (t instanceof ArrayType) {
            List<?> w = (List<?>) want;
            assertTrue(got.isArray(), where + ": " + got);
            assertEquals(w.size(), got.size(), where + ": " + got);
            for (int k = 0; k < w.size(); k++) {
                check(got.get(k), w.get(k), ((ArrayType) t).elementType(), where + "[" + k + "]");
            }
        } else if (t instanceof MapType) {
            Map<?, ?> w = (Map<?, ?>) want;
            assertTrue(got.isObject(), where + ": " + got);
            assertEquals(w.size(), got.size(), where + ": " + got);
            w.forEach((k, v) -> check(got.get(String.valueOf(k)), v, ((MapType) t).valueType(), where + "." + k));
        } else if (t instanceof StructType) {
            Row r = (Row) want;
            StructType st = (StructType) t;
            assertTrue(got.isObject(), where + ": " + got);
            for (int i = 0; i < st.size(); i++) {
                check(got.get(st.fields()[i].name()), r.isNullAt(i) ? null : r.get(i), st.fields()[i].dataType(),
                        where + "." + st.fields()[i].name());
            }
        } else {
            fail(where + ": no check for " + t);
        }
    }

    @Test
    void parquetDirectoryPrintsEveryRowExactly() throws Exception {
        List<JsonNode> rows = show("show", data.toString());
        assertEquals(60, rows.size());
        Map<Long, JsonNode> byId = new HashMap<>();
        for (JsonNode n : rows) {
            assertTrue(byId.put(n.get("id").longValue(), n) == null, "duplicate id " + n.get("id"));
        }
        for (Map.Entry<Long, Row> e : expected.entrySet()) {
            checkRow(byId.get(e.getKey()), e.getValue(), schema);
        }
        // The awkward row, literally: escapes, null inside an array, NaN, empty map, struct of nulls.
        JsonNode two = byId.get(2L);
        assertEquals("quote \" backslash \\ newline \n tab \t é 😀", two.get("name").textValue());
        assertEquals("[null,3.0,1.4E-45]", two.get("vec").toString());
        assertEquals("{\"a\":null,\"b\":null}", two.get("inner").toString());
        assertEquals("{}", two.get("tags").toString());
        assertEquals("\"1969-12-31T23:59:59.500Z\"", two.get("ts").toString());
        assertEquals("[[1,2],[]]", byId.get(1L).get("nested").toString());
        assertEquals("\"2024-03-01T12:34:56.789012Z\"", byId.get(1L).get("ts").toString());
    }

    @Test
    void rowsFollowPartFileOrderAndLimitStops() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(data)) {
            files = s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().collect(Collectors.toList());
        }
        assertTrue(files.size() >= 2, "the fixture has several part files: " + files);
        List<Long> all = new ArrayList<>();
        for (Path f : files) {
            List<JsonNode> one = show("show", f.toString());
            assertFalse(one.isEmpty(), f.toString());
            one.forEach(n -> all.add(n.get("id").longValue()));
        }
        List<Long> dir = show("show", data.toString()).stream().map(n -> n.get("id").longValue()).collect(Collectors.toList());
        assertEquals(all, dir, "a directory prints its part files in name order");
        List<Long> seven = show("show", data.toString(), "--limit", "7").stream().map(n -> n.get("id").longValue())
                .collect(Collectors.toList());
        assertEquals(all.subList(0, 7), seven);
        assertEquals(List.of(), show("show", data.toString(), "--limit", "0"));
        Object[] r = run("show", data.toString(), "--limit", "-1");
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("--limit must be >= 0"), (String) r[2]);
    }

    @Test
    void jobOutputShowsEachPartAfterItsNameOrOnePart() throws Exception {
        List<JsonNode> all = show("show", job.toString());
        assertEquals("{\"part\":\"embeddings\"}", all.get(0).toString());
        int errorsAt = -1;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).toString().equals("{\"part\":\"errors\"}")) {
                errorsAt = i;
            }
        }
        assertEquals(1 + embeddingRows, errorsAt, "embeddings rows, then the errors part line: " + all);
        assertEquals(errorsAt + 1, all.size(), "the errors part is empty");
        StructType emb = new StructType(new StructField[]{schema.fields()[0], schema.fields()[3]});
        for (JsonNode n : all.subList(1, errorsAt)) {
            checkRow(n, RowFactory.create(n.get("id").longValue(), expected.get(n.get("id").longValue()).get(3)), emb);
        }
        List<JsonNode> only = show("show", job.toString(), "--part", "embeddings", "--limit", "3");
        assertEquals(all.subList(1, 4), only, "--part prints the rows without the part line");
        assertEquals(List.of(), show("show", job.toString(), "--part", "errors"));
        assertEquals(List.of("{\"part\":\"embeddings\"}", "{\"part\":\"errors\"}"),
                show("show", job.toString(), "--limit", "0").stream().map(JsonNode::toString).collect(Collectors.toList()));
    }

    @Test
    void badPathsAreClearErrorsWithExitCode2() throws Exception {
        Map<String[], String> cases = new LinkedHashMap<>();
        cases.put(new String[]{"show", tmp.resolve("missing").toString()}, "does not exist");
        cases.put(new String[]{"show", job.resolve("summary.json").toString()}, "summary.json: not a readable Parquet file");
        cases.put(new String[]{"show", Files.createDirectories(tmp.resolve("empty")).toString()},
                "no Parquet files and no part directories");
        cases.put(new String[]{"show", job.toString(), "--part", "windows"}, "no part 'windows' (parts: embeddings, errors)");
        cases.put(new String[]{"show", data.toString(), "--part", "embeddings"}, "--part applies to job output directories");
        for (Map.Entry<String[], String> c : cases.entrySet()) {
            Object[] r = run(c.getKey());
            assertEquals(2, r[0], Arrays.toString(c.getKey()) + ": " + r[2]);
            assertTrue(((String) r[2]).contains(c.getValue()), Arrays.toString(c.getKey()) + ": " + r[2]);
            assertEquals("", r[1], "nothing on stdout");
        }
        Object[] none = run("show");
        assertEquals(2, none[0], "PATH is required");
    }

    @Test
    void aTruncatedFileNamesTheFile() throws Exception {
        Path f;
        try (Stream<Path> s = Files.list(data)) {
            f = s.filter(p -> p.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(f);
        Path cut = Files.write(tmp.resolve("cut.parquet"), Arrays.copyOf(bytes, bytes.length / 2));
        Object[] r = run("show", cut.toString());
        assertEquals(2, r[0]);
        assertTrue(((String) r[2]).contains("cut.parquet"), (String) r[2]);
    }

    /** The path once and why, not parquet-hadoop's message with its reader's object id in it. */
    @Test
    void aCorruptPartNamesItOnceWithAPlainReason() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("corrupt"));
        Path part = Files.writeString(dir.resolve("part-00000.parquet"), "this is not parquet data at all\n");
        Path tiny = Files.writeString(tmp.resolve("tiny.parquet"), "PAR");
        Map<Path, String> cases = new LinkedHashMap<>();
        cases.put(dir, "error: " + part + ": not a readable Parquet file: no PAR1 magic number at its end\n");
        cases.put(part, "error: " + part + ": not a readable Parquet file: no PAR1 magic number at its end\n");
        cases.put(tiny, "error: " + tiny + ": not a readable Parquet file: too short to be Parquet (3 bytes)\n");
        for (Map.Entry<Path, String> c : cases.entrySet()) {
            Object[] r = run("show", c.getKey().toString());
            assertEquals(2, r[0], (String) r[2]);
            assertEquals(c.getValue(), r[2]);
            assertEquals("", r[1], "nothing on stdout");
        }
    }

    /** Bytes damaged inside a data page: the page's CRC says so (unchecked, they were printed as other numbers). */
    @Test
    void aDamagedPageIsAnErrorNotOtherNumbers() throws Exception {
        Path dir = tmp.resolve("damaged");
        SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
        try {
            List<Row> rows = new ArrayList<>();
            for (long i = 0; i < 5000; i++) {
                rows.add(RowFactory.create(i, Math.sqrt(i)));
            }
            spark.createDataFrame(rows, new StructType().add("id", "long").add("x", "double")).coalesce(1).write()
                    .option("compression", "none").parquet(dir.toString());
        } finally {
            spark.stop();
        }
        Path f;
        try (Stream<Path> s = Files.list(dir)) {
            f = s.filter(p -> p.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(f);
        for (int i = b.length * 3 / 4; i < b.length * 3 / 4 + 32; i++) {
            b[i] ^= 0x21;  // inside the x column's page: still doubles, other ones
        }
        Files.write(f, b);
        Object[] r = run("show", f.toString());
        assertEquals(2, r[0], (String) r[2]);
        assertTrue(((String) r[2]).contains(f + ": cannot read as Parquet: could not verify page integrity"), (String) r[2]);
    }
}
