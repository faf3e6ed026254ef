package dev.mamba.jobs.report;

import java.util.Random;

/**
 * Principal components of a small row matrix (n × d) by power iteration with deflation. Works on the
 * centred rows directly (v ← Xᵀ(X v)), so no d × d covariance is formed: d may be the hidden size of a
 * large model while n is capped by the report.
 */
public final class Pca {
    /** Column means subtracted before projecting. */
    public final double[] mean;
    /** Unit-length components, one row each, by decreasing variance. */
    public final double[][] components;
    /** Variance along each component (eigenvalues of the covariance, divisor n − 1). */
    public final double[] variance;
    /** Total variance (trace of the covariance). */
    public final double totalVariance;

    private Pca(double[] mean, double[][] components, double[] variance, double totalVariance) {
        this.mean = mean;
        this.components = components;
        this.variance = variance;
        this.totalVariance = totalVariance;
    }

    /** Fits {@code k} components to the rows (all of length d; at least 2 rows). */
    public static Pca fit(float[][] rows, int k) {
        int n = rows.length;
        if (n < 2) {
            throw new IllegalArgumentException("PCA needs at least 2 rows, got " + n);
        }
        int d = rows[0].length;
        double[][] x = new double[n][d];
        double[] mean = new double[d];
        for (int i = 0; i < n; i++) {
            if (rows[i].length != d) {
                throw new IllegalArgumentException("row " + i + " has " + rows[i].length + " values, row 0 has " + d);
            }
            for (int j = 0; j < d; j++) {
                mean[j] += rows[i][j];
            }
        }
        for (int j = 0; j < d; j++) {
            mean[j] /= n;
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                x[i][j] = rows[i][j] - mean[j];
                total += x[i][j] * x[i][j];
            }
        }
        total /= (n - 1);
        int kk = Math.min(k, Math.min(d, n - 1));
        double[][] comps = new double[k][d];
        double[] var = new double[k];
        Random rnd = new Random(17);
        double[] xv = new double[n];
        for (int c = 0; c < kk; c++) {
            double[] v = new double[d];
            for (int j = 0; j < d; j++) {
                v[j] = rnd.nextGaussian();
            }
            orthogonalise(v, comps, c);
            normalise(v);
            double lambda = 0;
            for (int it = 0; it < 1000; it++) {
                double[] w = covTimes(x, v, xv);
                orthogonalise(w, comps, c); // deflation: stay out of the components found so far
                double norm = normalise(w);
                double change = 0;
                for (int j = 0; j < d; j++) {
                    change = Math.max(change, Math.abs(Math.abs(w[j]) - Math.abs(v[j])));
                }
                v = w;
                lambda = norm / (n - 1);
                if (norm == 0 || change < 1e-10) {
                    break;
                }
            }
            // Sign convention: the largest coordinate positive, so reruns draw the same picture.
            int arg = 0;
            for (int j = 1; j < d; j++) {
                if (Math.abs(v[j]) > Math.abs(v[arg])) {
                    arg = j;
                }
            }
            if (v[arg] < 0) {
                for (int j = 0; j < d; j++) {
                    v[j] = -v[j];
                }
            }
            comps[c] = v;
            var[c] = lambda;
        }
        return new Pca(mean, comps, var, total);
    }

    /** Coordinates of a row along the components. */
    public double[] project(float[] row) {
        double[] p = new double[components.length];
        for (int c = 0; c < components.length; c++) {
            double s = 0;
            for (int j = 0; j < mean.length; j++) {
                s += (row[j] - mean[j]) * components[c][j];
            }
            p[c] = s;
        }
        return p;
    }

    /** Share of the total variance along component c (0 when all rows are equal). */
    public double explained(int c) {
        return totalVariance > 0 ? variance[c] / totalVariance : 0;
    }

    /** Xᵀ (X v), i.e. (n − 1) × covariance × v. */
    private static double[] covTimes(double[][] x, double[] v, double[] xv) {
        int n = x.length, d = v.length;
        for (int i = 0; i < n; i++) {
            double s = 0;
            double[] r = x[i];
            for (int j = 0; j < d; j++) {
                s += r[j] * v[j];
            }
            xv[i] = s;
        }
        double[] w = new double[d];
        for (int i = 0; i < n; i++) {
            double s = xv[i];
            double[] r = x[i];
            for (int j = 0; j < d; j++) {
                w[j] += s * r[j];
            }
        }
        return w;
    }

    private static void orthogonalise(double[] v, double[][] basis, int count) {
        for (int c = 0; c < count; c++) {
            double dot = 0;
            for (int j = 0; j < v.length; j++) {
                dot += v[j] * basis[c][j];
            }
            for (int j = 0; j < v.length; j++) {
                v[j] -= dot * basis[c][j];
            }
        }
    }

    private static double normalise(double[] v) {
        double s = 0;
        for (double a : v) {
            s += a * a;
        }
        double norm = Math.sqrt(s);
        if (norm > 0) {
            for (int j = 0; j < v.length; j++) {
                v[j] /= norm;
            }
        }
        return norm;
    }
}
