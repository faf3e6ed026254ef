package dev.mamba.jobs.spark;

import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drives the live progress line: the job's chunk and step accumulators as seen in executor heartbeats
 * (running tasks) and task ends (finished tasks), printed on stderr a few times a second when stderr is
 * a terminal, every 10 s otherwise.
 */
final class ProgressListener extends SparkListener implements AutoCloseable {
    private final long chunksId;
    private final long stepsId;
    private final long totalSteps;
    private final boolean estimated;
    private final long t0 = System.nanoTime();
    private final Map<Long, long[]> running = new ConcurrentHashMap<>();
    private volatile long doneChunks;
    private volatile long doneSteps;
    private final PrintStream err = System.err;
    private final boolean live = System.console() != null;
    private final Thread ticker;
    private volatile boolean stop;
    private int lastLen;

    ProgressListener(LongAccumulator chunks, LongAccumulator steps, long totalSteps, boolean estimated) {
        this.chunksId = chunks.id();
        this.stepsId = steps.id();
        this.totalSteps = totalSteps;
        this.estimated = estimated;
        this.ticker = new Thread(this::tick, "mamba-progress");
        ticker.setDaemon(true);
        ticker.start();
    }

    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate e) {
        for (Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> u
                : CollectionConverters.asJava(e.accumUpdates())) {
            long[] v = values(u._4());
            if (v[0] >= 0 || v[1] >= 0) {
                running.merge((Long) u._1(), v, (a, b) -> new long[]{Math.max(a[0], b[0]), Math.max(a[1], b[1])});
            }
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
        running.remove(e.taskInfo().taskId());
        if (e.taskInfo().successful()) {
            long[] v = values(e.taskInfo().accumulables());
            synchronized (this) {
                doneChunks += Math.max(0, v[0]);
                doneSteps += Math.max(0, v[1]);
            }
        }
    }

    private long[] values(scala.collection.Seq<AccumulableInfo> infos) {
        long[] v = {-1, -1};
        for (AccumulableInfo a : CollectionConverters.asJava(infos)) {
            if (a.update().isDefined()) {
                Object x = a.update().get();
                long n = x instanceof Number ? ((Number) x).longValue() : -1;
                if (a.id() == chunksId) {
                    v[0] = n;
                } else if (a.id() == stepsId) {
                    v[1] = n;
                }
            }
        }
        return v;
    }

    /** Chunks and steps done so far (finished tasks plus running tasks' last heartbeat). */
    long[] progress() {
        long c = doneChunks, s = doneSteps;
        for (long[] v : running.values()) {
            c += Math.max(0, v[0]);
            s += Math.max(0, v[1]);
        }
        return new long[]{c, s};
    }

    String line() {
        long[] p = progress();
        double secs = (System.nanoTime() - t0) / 1e9;
        double rate = p[1] / Math.max(secs, 1e-9);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("[mamba] %,d chunks, %,d", p[0], p[1]));
        if (totalSteps > 0) {
            sb.append(String.format(" of %s%,d steps (%.1f%%)", estimated ? "~" : "", totalSteps,
                    Math.min(100.0, 100.0 * p[1] / totalSteps)));
        } else {
            sb.append(" steps");
        }
        sb.append(String.format(", %,.0f steps/s", rate));
        if (totalSteps > 0 && rate > 0 && p[1] < totalSteps) {
            long eta = (long) ((totalSteps - p[1]) / rate);
            sb.append(String.format(", ETA %d:%02d:%02d", eta / 3600, eta / 60 % 60, eta % 60));
        }
        sb.append(String.format(", %.0f s", secs));
        return sb.toString();
    }

    private void tick() {
        long every = live ? 500 : 10_000;
        while (!stop) {
            try {
                Thread.sleep(every);
            } catch (InterruptedException e) {
                return;
            }
            if (stop) {
                return;
            }
            print(line());
        }
    }

    private synchronized void print(String s) {
        if (live) {
            err.print("\r" + s + " ".repeat(Math.max(0, lastLen - s.length())));
            lastLen = s.length();
        } else {
            err.println(s);
        }
        err.flush();
    }

    @Override
    public void close() {
        stop = true;
        ticker.interrupt();
        if (live && lastLen > 0) {
            err.print("\r" + " ".repeat(lastLen) + "\r");
            err.flush();
        }
    }
}
