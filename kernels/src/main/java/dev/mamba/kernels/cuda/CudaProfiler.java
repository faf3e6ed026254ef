package dev.mamba.kernels.cuda;

import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-operator device times of a backend ({@code -Dmamba.cuda.profile=true}): a pair of CUDA events
 * around every public operator on the backend's stream, read back in batches, summed per label. The time
 * between two events includes any wait of the GPU for the host's next launch, so a host-bound stretch
 * shows up as slow operators; the report's last line compares the events' sum with the wall time between
 * the first and last event. Not thread-safe: the backend calls it under its lock.
 */
final class CudaProfiler {
    private static final int BATCH = 4096;

    private record Pending(String label, CUevent start, CUevent stop) {
    }

    private final CUstream stream;
    private final ArrayDeque<CUevent> free = new ArrayDeque<>();
    private final List<Pending> pending = new ArrayList<>();
    /** label → {calls, total ms}. */
    private final Map<String, double[]> stats = new LinkedHashMap<>();
    private CUevent first;
    private CUevent lastStop;
    private double spanMs;

    CudaProfiler(CUstream stream) {
        this.stream = stream;
    }

    /** Records the start event of one operator. */
    CUevent begin() {
        CUevent e = event();
        CudaDriver.check(JCudaDriver.cuEventRecord(e, stream), "cuEventRecord(profile)");
        return e;
    }

    /** Records the stop event of the operator started with {@code start}. */
    void end(CUevent start, String label) {
        CUevent e = event();
        CudaDriver.check(JCudaDriver.cuEventRecord(e, stream), "cuEventRecord(profile)");
        pending.add(new Pending(label, start, e));
        if (pending.size() >= BATCH) {
            harvest();
        }
    }

    private CUevent event() {
        CUevent e = free.poll();
        if (e == null) {
            e = new CUevent();
            CudaDriver.check(JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate(profile)");
        }
        return e;
    }

    /** Waits for the recorded events and adds their times to the sums. */
    private void harvest() {
        if (pending.isEmpty()) {
            return;
        }
        CudaDriver.check(JCudaDriver.cuEventSynchronize(pending.get(pending.size() - 1).stop), "cuEventSynchronize(profile)");
        float[] v = new float[1];
        for (Pending p : pending) {
            CudaDriver.check(JCudaDriver.cuEventElapsedTime(v, p.start, p.stop), "cuEventElapsedTime(profile)");
            double[] s = stats.computeIfAbsent(p.label, k -> new double[2]);
            s[0] += 1;
            s[1] += v[0];
        }
        Pending last = pending.get(pending.size() - 1);
        if (first == null) {
            first = pending.get(0).start;
        }
        CudaDriver.check(JCudaDriver.cuEventElapsedTime(v, first, last.stop), "cuEventElapsedTime(profile span)");
        spanMs = v[0];
        // the span's ends stay out of the pool: 'first' until reset, the latest stop until the next batch
        for (Pending p : pending) {
            if (p.start != first) {
                free.add(p.start);
            }
            if (p.stop != last.stop) {
                free.add(p.stop);
            }
        }
        if (lastStop != null) {
            free.add(lastStop);
        }
        lastStop = last.stop;
        pending.clear();
    }

    /** Forgets everything recorded so far. */
    void reset() {
        harvest();
        stats.clear();
        if (first != null) {
            free.add(first);
            first = null;
        }
        if (lastStop != null) {
            free.add(lastStop);
            lastStop = null;
        }
        spanMs = 0;
    }

    /** Table of calls, total ms, ms per call and share per label, largest total first. */
    String report() {
        harvest();
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(stats.entrySet());
        rows.sort((a, b) -> Double.compare(b.getValue()[1], a.getValue()[1]));
        double total = 0;
        for (Map.Entry<String, double[]> e : rows) {
            total += e.getValue()[1];
        }
        int w = 20;
        for (Map.Entry<String, double[]> e : rows) {
            w = Math.max(w, e.getKey().length());
        }
        StringBuilder sb = new StringBuilder();
        String fmt = "%-" + w + "s %8s %11s %10s %7s%n";
        sb.append(String.format(Locale.ROOT, fmt, "operator", "calls", "total ms", "ms/call", "share"));
        for (Map.Entry<String, double[]> e : rows) {
            double[] s = e.getValue();
            sb.append(String.format(Locale.ROOT, "%-" + w + "s %8d %11.3f %10.4f %6.1f%%%n", e.getKey(), (long) s[0], s[1],
                    s[1] / s[0], total > 0 ? 100 * s[1] / total : 0));
        }
        sb.append(String.format(Locale.ROOT, "sum of operator times %.3f ms; first event to last %.3f ms%n", total, spanMs));
        return sb.toString();
    }

    /** Destroys every event. */
    void close() {
        for (Pending p : pending) {
            free.add(p.start);
            free.add(p.stop);
        }
        pending.clear();
        if (first != null) {
            free.add(first);
        }
        if (lastStop != null) {
            free.add(lastStop);
        }
        java.util.Set<CUevent> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (CUevent e : free) {
            if (seen.add(e)) {
                JCudaDriver.cuEventDestroy(e);
            }
        }
        free.clear();
    }
}
