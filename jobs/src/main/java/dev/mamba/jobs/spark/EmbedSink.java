package dev.mamba.jobs.spark;

import dev.mamba.pipeline.batch.SequenceSlot;
import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.Output;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.EnumSet;
import java.util.Set;

/**
 * Embed: per sequence the mean of the final hidden states over all steps and the last step's, and
 * optionally per window of {@code window} steps the window's mean. Sums run in double across chunks.
 */
final class EmbedSink extends RowSink {
    /** The rows the partition function yields; {@code kind} says which output each goes to. */
    static final StructType ROWS = new StructType()
            .add("kind", DataTypes.StringType, false)
            .add("sequence_id", DataTypes.StringType, false)
            .add("file", DataTypes.StringType, false)
            .add("length", DataTypes.LongType, true)
            .add("embedding_mean", DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add("embedding_last", DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add("window_start", DataTypes.LongType, true)
            .add("window_end", DataTypes.LongType, true)
            .add("error_position", DataTypes.LongType, true)
            .add("error_reason", DataTypes.StringType, true);

    private final int hidden;
    private final long window;

    private static final class Acc {
        final double[] sum;
        final float[] last;
        final double[] wsum;
        long wstart;
        long wcount;

        Acc(int h, boolean windows) {
            sum = new double[h];
            last = new float[h];
            wsum = windows ? new double[h] : null;
        }
    }

    EmbedSink(int hidden, long window) {
        this.hidden = hidden;
        this.window = window;
    }

    @Override
    Set<Output> outputs() {
        return window > 0 ? EnumSet.of(Output.HIDDEN) : EnumSet.of(Output.SUMMARY);
    }

    @Override
    public void sequenceStarted(SequenceSlot s) {
        s.attachment = new Acc(hidden, window > 0);
    }

    @Override
    public void chunkDone(SequenceSlot s, Chunk c, ForwardResult r, int lane) {
        Acc a = (Acc) s.attachment;
        final int h = hidden;
        if (window == 0) {
            int base = lane * 2 * h;
            for (int j = 0; j < h; j++) {
                a.sum[j] += r.summary[base + j];
            }
            System.arraycopy(r.summary, base + h, a.last, 0, h);
            return;
        }
        long pos = c.start();
        for (int t = 0; t < c.length(); t++, pos++) {
            int row = (lane * r.steps + t) * h;
            for (int j = 0; j < h; j++) {
                float v = r.hidden[row + j];
                a.sum[j] += v;
                a.wsum[j] += v;
            }
            a.wcount++;
            if (a.wcount == window) {
                emitWindow(s, a);
            }
        }
        System.arraycopy(r.hidden, (lane * r.steps + c.length() - 1) * h, a.last, 0, h);
    }

    private void emitWindow(SequenceSlot s, Acc a) {
        float[] mean = new float[hidden];
        for (int j = 0; j < hidden; j++) {
            mean[j] = (float) (a.wsum[j] / a.wcount);
        }
        out.add(RowFactory.create("window", s.id, s.file, a.wcount, mean, null, a.wstart, a.wstart + a.wcount, null, null));
        a.wstart += a.wcount;
        a.wcount = 0;
        java.util.Arrays.fill(a.wsum, 0);
    }

    @Override
    public void sequenceDone(SequenceSlot s) {
        Acc a = (Acc) s.attachment;
        if (window > 0 && a.wcount > 0) {
            emitWindow(s, a);
        }
        float[] mean = new float[hidden];
        for (int j = 0; j < hidden; j++) {
            mean[j] = (float) (a.sum[j] / s.stepsDone);
        }
        out.add(RowFactory.create("embedding", s.id, s.file, s.stepsDone, mean, a.last.clone(), null, null, null, null));
    }

    @Override
    Row errorRow(String id, String file, long position, String reason) {
        return RowFactory.create("error", id, file, null, null, null, null, null, position, reason);
    }
}
