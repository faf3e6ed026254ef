package dev.mamba.pipeline.score;

/**
 * Turns one-step-ahead prediction errors into an anomaly score, causally per series. The error of a
 * step is the RMS over features of (actual − predicted), in the normalised units of the step before;
 * the score is that error divided by the RMS of past errors (exponentially weighted), i.e. "how many
 * times the usual error". Steps within the warm-up are never flagged.
 */
public final class AnomalyScorer {
    private final double alpha;
    private final double threshold;
    private final long warmup;
    private double meanSq;
    private long n;

    public AnomalyScorer(double halfLife, double threshold, long warmup) {
        this.alpha = 1 - Math.pow(0.5, 1 / halfLife);
        this.threshold = threshold;
        this.warmup = warmup;
    }

    /** Score of this error (then folds it into the history). */
    public double score(double error) {
        double s = n == 0 ? 0 : error / Math.sqrt(meanSq + 1e-12);
        double w = Math.max(alpha, 1.0 / (n + 1));
        meanSq += w * (error * error - meanSq);
        n++;
        return s;
    }

    /** Whether a score flags an anomaly, given how many errors came before it. */
    public boolean flags(double score, long errorsBefore) {
        return errorsBefore >= warmup && score > threshold;
    }

    public long count() {
        return n;
    }

    public double threshold() {
        return threshold;
    }
}
