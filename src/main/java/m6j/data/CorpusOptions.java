package m6j.data;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How to build a corpus.
 *
 * @param imageSize    side of the square RGB images (8..512)
 * @param seed         shuffles record order inside each split; the split itself depends only on record ids
 * @param testFraction share of hash-split records that go to TEST, in [0, 0.5]
 * @param maxPerSource cap on records read per source, 0 = all
 */
public record CorpusOptions(DataRoots roots, Path out, int imageSize, long seed, double testFraction, int maxPerSource) {
    public static final int DEFAULT_IMAGE_SIZE = 32;
    public static final double DEFAULT_TEST_FRACTION = 0.05;

    public CorpusOptions {
        Objects.requireNonNull(roots, "roots");
        Objects.requireNonNull(out, "out");
        if (imageSize < 8 || imageSize > 512) throw new IllegalArgumentException("imageSize must be in [8, 512]: " + imageSize);
        if (!(testFraction >= 0.0 && testFraction <= 0.5)) {
            throw new IllegalArgumentException("testFraction must be in [0, 0.5]: " + testFraction);
        }
        if (maxPerSource < 0) throw new IllegalArgumentException("maxPerSource must be >= 0 (0 = all): " + maxPerSource);
    }

    public static CorpusOptions defaults(DataRoots roots, Path out) {
        return new CorpusOptions(roots, out, DEFAULT_IMAGE_SIZE, 0L, DEFAULT_TEST_FRACTION, 0);
    }
}
