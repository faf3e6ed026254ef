package dev.mamba.jobs.report;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Power-iteration PCA against a Jacobi eigen-decomposition of the covariance (an independent method). */
class PcaTest {

    @Test
    void matchesJacobiEigenvectorsOfTheCovariance() {
        Random rnd = new Random(5);
        for (int[] shape : new int[][]{{50, 6}, {300, 40}, {7, 12}}) {
            int n = shape[0], d = shape[1];
            // anisotropic data: a random rotation of axes with decreasing spread
            double[][] basis = orthonormal(rnd, d);
            float[][] x = new float[n][d];
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < d; k++) {
                    double c = rnd.nextGaussian() * (10.0 / (1 + k * k)); // variances well separated
                    for (int j = 0; j < d; j++) {
                        x[i][j] += (float) (c * basis[k][j]);
                    }
                }
                for (int j = 0; j < d; j++) {
                    x[i][j] += 3f; // an offset the PCA must remove
                }
            }
            double[][] cov = covariance(x);
            double[][] vec = new double[d][d];
            double[] val = jacobi(cov, vec);
            int[] order = argsortDesc(val);
            Pca p = Pca.fit(x, 2);
            double trace = 0;
            for (int j = 0; j < d; j++) {
                trace += cov[j][j];
            }
            assertEquals(trace, p.totalVariance, 1e-9 * trace);
            for (int c = 0; c < 2; c++) {
                double want = val[order[c]];
                assertEquals(want, p.variance[c], 1e-6 * want, n + "x" + d + " variance " + c);
                double dot = 0;
                for (int j = 0; j < d; j++) {
                    dot += p.components[c][j] * vec[j][order[c]];
                }
                assertEquals(1.0, Math.abs(dot), 1e-6, n + "x" + d + " component " + c + " direction");
                assertEquals(want / trace, p.explained(c), 1e-6);
            }
            // projections are the centred rows dotted with the components
            double[] proj = p.project(x[3]);
            for (int c = 0; c < 2; c++) {
                double s = 0;
                for (int j = 0; j < d; j++) {
                    s += (x[3][j] - p.mean[j]) * p.components[c][j];
                }
                assertEquals(s, proj[c], 1e-9 * Math.max(1, Math.abs(s)));
            }
        }
    }

    @Test
    void degenerateInputs() {
        assertThrows(IllegalArgumentException.class, () -> Pca.fit(new float[][]{{1, 2}}, 2));
        assertThrows(IllegalArgumentException.class, () -> Pca.fit(new float[][]{{1, 2}, {1}}, 2));
        // one dimension: the second component has no variance
        Pca one = Pca.fit(new float[][]{{1}, {2}, {4}}, 2);
        assertEquals(7.0 / 3, one.variance[0], 1e-12);
        assertEquals(0, one.variance[1]);
        assertEquals(1.0, one.explained(0), 1e-12);
        // identical rows: no variance at all, projections 0
        Pca flat = Pca.fit(new float[][]{{1, 1, 1}, {1, 1, 1}, {1, 1, 1}}, 2);
        assertEquals(0, flat.totalVariance);
        assertEquals(0, flat.project(new float[]{1, 1, 1})[0]);
        assertTrue(Double.isFinite(flat.explained(0)));
    }

    static double[][] orthonormal(Random rnd, int d) {
        double[][] b = new double[d][d];
        for (int k = 0; k < d; k++) {
            for (int j = 0; j < d; j++) {
                b[k][j] = rnd.nextGaussian();
            }
            for (int m = 0; m < k; m++) {
                double dot = 0;
                for (int j = 0; j < d; j++) {
                    dot += b[k][j] * b[m][j];
                }
                for (int j = 0; j < d; j++) {
                    b[k][j] -= dot * b[m][j];
                }
            }
            double norm = 0;
            for (int j = 0; j < d; j++) {
                norm += b[k][j] * b[k][j];
            }
            for (int j = 0; j < d; j++) {
                b[k][j] /= Math.sqrt(norm);
            }
        }
        return b;
    }

    static double[][] covariance(float[][] x) {
        int n = x.length, d = x[0].length;
        double[] mean = new double[d];
        for (float[] r : x) {
            for (int j = 0; j < d; j++) {
                mean[j] += r[j] / (double) n;
            }
        }
        double[][] c = new double[d][d];
        for (float[] r : x) {
            for (int a = 0; a < d; a++) {
                for (int b = 0; b < d; b++) {
                    c[a][b] += (r[a] - mean[a]) * (r[b] - mean[b]) / (n - 1);
                }
            }
        }
        return c;
    }

    /** Cyclic Jacobi rotations: eigenvalues returned, eigenvectors in the columns of v. */
    static double[] jacobi(double[][] m, double[][] v) {
        int d = m.length;
        double[][] a = new double[d][];
        for (int i = 0; i < d; i++) {
            a[i] = m[i].clone();
            v[i][i] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < d; p++) {
                for (int q = p + 1; q < d; q++) {
                    off += a[p][q] * a[p][q];
                }
            }
            if (off < 1e-22) {
                break;
            }
            for (int p = 0; p < d; p++) {
                for (int q = p + 1; q < d; q++) {
                    if (Math.abs(a[p][q]) < 1e-300) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < d; k++) {
                        double akp = a[k][p], akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < d; k++) {
                        double apk = a[p][k], aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < d; k++) {
                        double vkp = v[k][p], vkq = v[k][q];
                        v[k][p] = c * vkp - s * vkq;
                        v[k][q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        double[] w = new double[d];
        for (int i = 0; i < d; i++) {
            w[i] = a[i][i];
        }
        return w;
    }

    static int[] argsortDesc(double[] v) {
        return java.util.stream.IntStream.range(0, v.length).boxed()
                .sorted((i, j) -> Double.compare(v[j], v[i])).mapToInt(Integer::intValue).toArray();
    }
}
