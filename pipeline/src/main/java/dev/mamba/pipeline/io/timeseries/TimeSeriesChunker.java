package dev.mamba.pipeline.io.timeseries;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.ChunkReader;

import java.util.Arrays;
import java.util.List;

/**
 * Cuts grouped, time-sorted series into numeric {@link Chunk}s of up to {@code chunkLen} steps
 * (features = number of value columns), series after series. Time stamps are not carried in the chunks:
 * the steps are in time order, and irregular spacing is the caller's concern ({@link TimeSeries#times()}).
 */
public final class TimeSeriesChunker implements ChunkReader {
    private final String file;
    private final List<TimeSeries> series;
    private final int chunkLen;
    private int s;
    private int pos;
    private long chunkIndex;

    /** Chunks of the given series, in list order; {@code file} goes into every chunk. */
    public TimeSeriesChunker(String file, List<TimeSeries> series, int chunkLen) {
        if (chunkLen <= 0) {
            throw new IllegalArgumentException("chunkLen must be > 0, is " + chunkLen);
        }
        this.file = file;
        this.series = List.copyOf(series);
        this.chunkLen = chunkLen;
    }

    @Override
    public Chunk next() {
        if (s >= series.size()) {
            return null;
        }
        TimeSeries t = series.get(s);
        int n = Math.min(chunkLen, t.length() - pos);
        int f = t.features();
        float[] v = Arrays.copyOfRange(t.values(), pos * f, (pos + n) * f);
        boolean last = pos + n == t.length();
        Chunk c = Chunk.numeric(t.id(), file, chunkIndex, pos, n, last, v, f);
        if (last) {
            s++;
            pos = 0;
            chunkIndex = 0;
        } else {
            pos += n;
            chunkIndex++;
        }
        return c;
    }

    @Override
    public void close() {
        s = series.size();
    }
}
