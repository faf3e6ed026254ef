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
 * Score, token models: the negative log-likelihood of every position's next symbol under the LM head
 * (the last position of a sequence has none: null), and per sequence the mean and the perplexity.
 */
final class TokenScoreSink extends RowSink {
    static final StructType ROWS = new StructType()
            .add("kind", DataTypes.StringType, false)
            .add("sequence_id", DataTypes.StringType, false)
            .add("file", DataTypes.StringType, false)
            .add("position", DataTypes.LongType, true)
            .add("symbol", DataTypes.StringType, true)
            .add("nll", DataTypes.FloatType, true)
            .add("length", DataTypes.LongType, true)
            .add("nll_mean", DataTypes.DoubleType, true)
            .add("perplexity", DataTypes.DoubleType, true)
            .add("error_position", DataTypes.LongType, true)
            .add("error_reason", DataTypes.StringType, true);

    private final boolean positions;

    private static final class Acc {
        double sum;
        long n;
    }

    TokenScoreSink(boolean positions) {
        this.positions = positions;
    }

    @Override
    Set<Output> outputs() {
        return EnumSet.of(Output.NLL);
    }

    @Override
    public void sequenceStarted(SequenceSlot s) {
        s.attachment = new Acc();
    }

    @Override
    public void chunkDone(SequenceSlot s, Chunk c, ForwardResult r, int lane) {
        Acc a = (Acc) s.attachment;
        for (int t = 0; t < c.length(); t++) {
            float v = r.nll[lane * r.steps + t];
            boolean has = !Float.isNaN(v);
            if (has) {
                a.sum += v;
                a.n++;
            }
            if (positions) {
                out.add(RowFactory.create("position", s.id, s.file, c.start() + t,
                        String.valueOf((char) (c.symbols()[t] & 0xFF)), has ? v : null, null, null, null, null, null));
            }
        }
    }

    @Override
    public void sequenceDone(SequenceSlot s) {
        Acc a = (Acc) s.attachment;
        Double mean = a.n == 0 ? null : a.sum / a.n;
        out.add(RowFactory.create("sequence", s.id, s.file, null, null, null, s.stepsDone, mean,
                mean == null ? null : Math.exp(mean), null, null));
    }

    @Override
    Row errorRow(String id, String file, long position, String reason) {
        return RowFactory.create("error", id, file, null, null, null, null, null, null, position, reason);
    }
}
