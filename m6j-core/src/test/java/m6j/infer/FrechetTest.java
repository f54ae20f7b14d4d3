package m6j.infer;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class FrechetTest {
    static double[][] gaussian(int n, int d, double shift, double scale, long seed) {
        Random r = new Random(seed);
        double[][] x = new double[n][d];
        for (double[] row : x) for (int j = 0; j < d; j++) row[j] = shift + scale * r.nextGaussian();
        return x;
    }

    @Test void zeroForTheSameSetAndTheMeanGapForAShift() {
        double[][] a = gaussian(400, 6, 0, 1, 1);
        assertThat(Frechet.distance(a, a)).isCloseTo(0, within(1e-6));
        double[][] b = new double[a.length][];
        for (int i = 0; i < a.length; i++) { b[i] = a[i].clone(); for (int j = 0; j < 6; j++) b[i][j] += 2; }
        assertThat(Frechet.distance(a, b)).isCloseTo(6 * 4, within(1e-6));
    }

    @Test void matchesTheClosedFormForScaledIsotropicGaussians() {
        // N(0, I) vs N(0, 4I) in d dims: d (1 + 4 - 2*2) = d
        double[][] a = gaussian(20000, 3, 0, 1, 2), b = gaussian(20000, 3, 0, 2, 3);
        assertThat(Frechet.distance(a, b)).isCloseTo(3, within(0.15));
    }
}
