package m6j.infer;

import java.util.Arrays;

/**
 * Frechet distance between Gaussians fitted to two feature sets (as FID does with Inception features):
 * |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2), with symmetric eigendecompositions (Jacobi).
 */
public final class Frechet {
    private Frechet() {}

    public static double distance(double[][] a, double[][] b) {
        int d = a[0].length;
        double[] ma = mean(a), mb = mean(b);
        double[][] sa = cov(a, ma), sb = cov(b, mb);
        double diff = 0, tr = 0;
        for (int i = 0; i < d; i++) { diff += (ma[i] - mb[i]) * (ma[i] - mb[i]); tr += sa[i][i] + sb[i][i]; }
        double[][] r = sqrtPsd(sa);
        double[][] m = mul(mul(r, sb), r);
        for (int i = 0; i < d; i++) for (int j = 0; j < i; j++) { double s = (m[i][j] + m[j][i]) / 2; m[i][j] = s; m[j][i] = s; }
        double[] ev = eigen(m, null);
        double cross = 0;
        for (double v : ev) cross += Math.sqrt(Math.max(0, v));
        return diff + tr - 2 * cross;
    }

    static double[] mean(double[][] x) {
        double[] m = new double[x[0].length];
        for (double[] r : x) for (int j = 0; j < m.length; j++) m[j] += r[j] / x.length;
        return m;
    }

    static double[][] cov(double[][] x, double[] m) {
        int d = m.length;
        double[][] c = new double[d][d];
        for (double[] r : x)
            for (int i = 0; i < d; i++) {
                double u = r[i] - m[i];
                if (u == 0) continue;
                for (int j = 0; j <= i; j++) c[i][j] += u * (r[j] - m[j]);
            }
        int n = Math.max(1, x.length - 1);
        for (int i = 0; i < d; i++) for (int j = 0; j <= i; j++) { c[i][j] /= n; c[j][i] = c[i][j]; }
        return c;
    }

    static double[][] mul(double[][] a, double[][] b) {
        int n = a.length;
        double[][] c = new double[n][n];
        for (int i = 0; i < n; i++) for (int k = 0; k < n; k++) { double v = a[i][k]; if (v != 0) for (int j = 0; j < n; j++) c[i][j] += v * b[k][j]; }
        return c;
    }

    /** Square root of a symmetric positive semi-definite matrix (negative eigenvalues from round-off clipped to 0). */
    static double[][] sqrtPsd(double[][] s) {
        int n = s.length;
        double[][] v = new double[n][n];
        double[] ev = eigen(s, v);
        double[][] out = new double[n][n];
        for (int k = 0; k < n; k++) {
            double r = Math.sqrt(Math.max(0, ev[k]));
            if (r == 0) continue;
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) out[i][j] += r * v[i][k] * v[j][k];
        }
        return out;
    }

    /** Cyclic Jacobi: eigenvalues of symmetric s (not modified); eigenvectors into the columns of vecs if not null. */
    static double[] eigen(double[][] s, double[][] vecs) {
        int n = s.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) a[i] = s[i].clone();
        if (vecs != null) for (int i = 0; i < n; i++) { Arrays.fill(vecs[i], 0); vecs[i][i] = 1; }
        for (int sweep = 0; sweep < 60; sweep++) {
            double off = 0, diag = 0;
            for (int i = 0; i < n; i++) { diag += a[i][i] * a[i][i]; for (int j = i + 1; j < n; j++) off += a[i][j] * a[i][j]; }
            if (off <= 1e-22 * Math.max(diag, 1e-300)) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++) {
                    if (Math.abs(a[p][q]) < 1e-300) continue;
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.sqrt(t * t + 1), sn = t * c;
                    for (int k = 0; k < n; k++) {
                        double akp = a[k][p], akq = a[k][q];
                        a[k][p] = c * akp - sn * akq;
                        a[k][q] = sn * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p][k], aqk = a[q][k];
                        a[p][k] = c * apk - sn * aqk;
                        a[q][k] = sn * apk + c * aqk;
                    }
                    if (vecs != null) for (int k = 0; k < n; k++) {
                        double vkp = vecs[k][p], vkq = vecs[k][q];
                        vecs[k][p] = c * vkp - sn * vkq;
                        vecs[k][q] = sn * vkp + c * vkq;
                    }
                }
        }
        double[] ev = new double[n];
        for (int i = 0; i < n; i++) ev[i] = a[i][i];
        return ev;
    }
}
