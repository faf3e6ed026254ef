package dev.mamba.jobs.spark;

import dev.mamba.jobs.source.ChunkSchema;
import dev.mamba.pipeline.batch.SequenceSlot;
import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.score.SeriesState;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Score, continuous models: per step the value, the model's one-step-ahead prediction (original units),
 * the prediction error (RMS over features, in the causally normalised units) and the anomaly score
 * (error over its causal running RMS) with a flag; per series the maximum score and the flag count.
 */
final class SeriesScoreSink extends RowSink {
    static final StructType ROWS = new StructType()
            .add("kind", DataTypes.StringType, false)
            .add("series_id", DataTypes.StringType, false)
            .add("file", DataTypes.StringType, false)
            .add("step", DataTypes.LongType, true)
            .add("time", DataTypes.DoubleType, true)
            .add("value", DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add("prediction", DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add("error", DataTypes.FloatType, true)
            .add("score", DataTypes.FloatType, true)
            .add("anomaly", DataTypes.BooleanType, true)
            .add("length", DataTypes.LongType, true)
            .add("max_score", DataTypes.DoubleType, true)
            .add("anomalies", DataTypes.LongType, true)
            .add("error_position", DataTypes.LongType, true)
            .add("error_reason", DataTypes.StringType, true);

    private final int features;
    private final JobSettings s;
    /** Per series, the times of chunks seen but not yet scored (time-series input only). */
    private final Map<String, ArrayDeque<double[]>> times = new HashMap<>();

    SeriesScoreSink(int features, JobSettings s) {
        this.features = features;
        this.s = s;
    }

    @Override
    Set<Output> outputs() {
        return EnumSet.of(Output.PREDICTION);
    }

    @Override
    void chunkRow(Row r) {
        if (r.size() > ChunkSchema.TIMES && !r.isNullAt(ChunkSchema.TIMES)) {
            byte[] b = (byte[]) r.get(ChunkSchema.TIMES);
            double[] t = new double[b.length / 8];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(t);
            times.computeIfAbsent(r.getString(ChunkSchema.SEQUENCE_ID), k -> new ArrayDeque<>()).add(t);
        }
    }

    @Override
    public void sequenceStarted(SequenceSlot slot) {
        slot.attachment = new SeriesState(features, s.normHalfLife, s.errorHalfLife, s.threshold, s.warmup);
    }

    @Override
    public void chunkDone(SequenceSlot slot, Chunk c, ForwardResult r, int lane) {
        SeriesState st = (SeriesState) slot.attachment;
        final int k = features;
        double[] tm = null;
        ArrayDeque<double[]> q = times.get(slot.id);
        if (q != null && !q.isEmpty()) {
            // pieces of one chunk share its times array: take it when the piece ends the chunk
            tm = q.peek();
            if (c.last() || (c.start() + c.length()) % s.chunkLength == 0) {
                q.poll();
            }
        }
        int chunkOff = (int) (c.start() % s.chunkLength);
        float[] v = c.values();
        for (int t = 0; t < c.length(); t++) {
            float[] value = java.util.Arrays.copyOfRange(v, t * k, (t + 1) * k);
            float[] pred = null;
            Float err = null, score = null;
            Boolean flag = null;
            if (st.prevPrediction != null) {
                pred = new float[k];
                double ss = 0;
                for (int f = 0; f < k; f++) {
                    double e = st.z[t * k + f] - st.prevPrediction[f];
                    ss += e * e;
                    pred[f] = (float) (st.mean[t * k + f] + st.scale[t * k + f] * st.prevPrediction[f]);
                }
                double rms = Math.sqrt(ss / k);
                long before = st.scorer.count();
                double sc = st.scorer.score(rms);
                err = (float) rms;
                score = (float) sc;
                flag = st.scorer.flags(sc, before);
                if (flag) {
                    st.anomalies++;
                }
                st.maxScore = Math.max(st.maxScore, sc);
            }
            long step = c.start() + t;
            Double time = tm != null && chunkOff + t < tm.length ? tm[chunkOff + t] : (double) step;
            out.add(RowFactory.create("step", slot.id, slot.file, step, time, value, pred, err, score, flag,
                    null, null, null, null, null));
            if (st.prevPrediction == null) {
                st.prevPrediction = new float[k];
            }
            System.arraycopy(r.prediction, (lane * r.steps + t) * k, st.prevPrediction, 0, k);
        }
    }

    @Override
    public void sequenceDone(SequenceSlot slot) {
        SeriesState st = (SeriesState) slot.attachment;
        times.remove(slot.id);
        out.add(RowFactory.create("series", slot.id, slot.file, null, null, null, null, null, null, null,
                slot.stepsDone, st.maxScore, st.anomalies, null, null));
    }

    @Override
    public void sequenceFailed(String id, String file, long position, String reason) {
        times.remove(id);
        super.sequenceFailed(id, file, position, reason);
    }

    @Override
    Row errorRow(String id, String file, long position, String reason) {
        return RowFactory.create("error", id, file, null, null, null, null, null, null, null, null, null, null,
                position, reason);
    }
}
