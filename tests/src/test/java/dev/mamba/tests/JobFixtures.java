package dev.mamba.tests;

import dev.mamba.kernels.cpu.CpuBackend;
import dev.mamba.pipeline.checkpoint.RandomCheckpoint;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.model.ForwardBatch;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.model.Runner;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/** Small random DNA models and FASTA inputs for the job tests, plus the in-process expected results. */
final class JobFixtures {
    static final String ALPHABET = "ACGTN";

    private JobFixtures() {
    }

    static MambaConfig dnaConfig() {
        return new MambaConfig(ModelFamily.TOKENS, 32, 2, 8, 8, 4, 64, 2, true, false, 1e-5f, true, true, 0, 0);
    }

    /** A random token model with vocab.json {A:0, C:1, G:2, T:3, N:4}. */
    static Path dnaModel(Path dir) throws IOException {
        RandomCheckpoint.writeRandom(dir, dnaConfig(), 42, true, "F32");
        Files.writeString(dir.resolve("vocab.json"), "{\"A\": 0, \"C\": 1, \"G\": 2, \"T\": 3, \"N\": 4}");
        return dir;
    }

    static String randomDna(Random rnd, int len) {
        StringBuilder sb = new StringBuilder(len);
        for (int i = 0; i < len; i++) {
            char c = ALPHABET.charAt(rnd.nextInt(4));
            sb.append(rnd.nextInt(10) == 0 ? Character.toLowerCase(c) : c); // soft-masked bases too
        }
        return sb.toString();
    }

    /** Writes records wrapped at 60 columns; gzip when the name ends in .gz. */
    static void writeFasta(Path file, Map<String, String> records) throws IOException {
        StringBuilder sb = new StringBuilder();
        records.forEach((id, seq) -> {
            sb.append('>').append(id).append(" description text\n");
            for (int i = 0; i < seq.length(); i += 60) {
                sb.append(seq, i, Math.min(seq.length(), i + 60)).append('\n');
            }
        });
        byte[] bytes = sb.toString().getBytes(StandardCharsets.US_ASCII);
        if (file.toString().endsWith(".gz")) {
            try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(file))) {
                o.write(bytes);
            }
        } else {
            Files.write(file, bytes);
        }
    }

    static Map<String, String> randomRecords(Random rnd, String prefix, int n, int maxLen) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            m.put(prefix + i, randomDna(rnd, 1 + rnd.nextInt(maxLen)));
        }
        return m;
    }

    /**
     * The jobs' usual input folder: a.fa ({@code na} records up to 900 bases plus "long", {@code longLen}
     * bases: many chunks, spans splits), b.fasta ({@code nb} up to 300) and c.fa.gz ({@code nc} up to
     * {@code cLen}). Returns every record written, in file order.
     */
    static Map<String, String> writeFastaInputs(Path dir, Random rnd, int na, int longLen, int nb, int nc, int cLen)
            throws IOException {
        Map<String, String> a = randomRecords(rnd, "a", na, 900);
        a.put("long", randomDna(rnd, longLen));
        Map<String, String> b = randomRecords(rnd, "b", nb, 300);
        Map<String, String> c = randomRecords(rnd, "c", nc, cLen);
        writeFasta(dir.resolve("a.fa"), a);
        writeFasta(dir.resolve("b.fasta"), b);
        writeFasta(dir.resolve("c.fa.gz"), c);
        Map<String, String> all = new LinkedHashMap<>(a);
        all.putAll(b);
        all.putAll(c);
        return all;
    }

    static int[] ids(String seq) {
        int[] t = new int[seq.length()];
        for (int i = 0; i < t.length; i++) {
            t[i] = ALPHABET.indexOf(Character.toUpperCase(seq.charAt(i)));
        }
        return t;
    }

    /** Mean and last final hidden state of each sequence, in one in-process pass. */
    static Map<String, float[][]> expectedEmbeddings(Path model, Map<String, String> records) throws IOException {
        Map<String, float[][]> out = new LinkedHashMap<>();
        try (CpuBackend be = new CpuBackend(2); MambaModel m = MambaModel.load(model, be)) {
            int h = m.config().hiddenSize;
            int max = records.values().stream().mapToInt(String::length).max().orElse(1);
            try (Runner r = m.newRunner(1, max)) {
                for (Map.Entry<String, String> e : records.entrySet()) {
                    String s = e.getValue();
                    ForwardBatch b = new ForwardBatch(1, s.length());
                    b.lens[0] = s.length();
                    b.tokens = ids(s);
                    r.reset(0);
                    ForwardResult res = r.forward(b, EnumSet.of(Output.HIDDEN));
                    float[] mean = new float[h], last = new float[h];
                    for (int j = 0; j < h; j++) {
                        double sum = 0;
                        for (int t = 0; t < s.length(); t++) {
                            sum += res.hidden[t * h + j];
                        }
                        mean[j] = (float) (sum / s.length());
                        last[j] = res.hidden[(s.length() - 1) * h + j];
                    }
                    out.put(e.getKey(), new float[][]{mean, last});
                }
            }
        }
        return out;
    }
}
