package m6j.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * How to build a corpus.
 *
 * @param roots        where the built-in sources live; null reads none of them (only the user datasets)
 * @param imageSize    side of the square RGB images (8..512)
 * @param seed         shuffles record order inside each split; the split itself depends only on record ids
 * @param testFraction share of hash-split records that go to TEST, in [0, 0.5]
 * @param maxPerSource cap on records read per source, 0 = all
 * @param datasets     the user's datasets (folders or files, see {@link UserSources}), each read as its own source
 * @param format       the datasets' format, or "auto" to detect it per path ({@link UserSources#FORMATS})
 */
public record CorpusOptions(DataRoots roots, Path out, int imageSize, long seed, double testFraction, int maxPerSource,
                            List<Path> datasets, String format) {
    public static final int DEFAULT_IMAGE_SIZE = 32;
    public static final double DEFAULT_TEST_FRACTION = 0.05;

    public CorpusOptions {
        Objects.requireNonNull(out, "out");
        datasets = List.copyOf(Objects.requireNonNull(datasets, "datasets"));
        Objects.requireNonNull(format, "format");
        if (roots == null && datasets.isEmpty()) throw new IllegalArgumentException("nothing to read: no built-in roots and no dataset");
        if (!UserSources.FORMATS.contains(format)) {
            throw new IllegalArgumentException("unknown format '" + format + "'; known: " + String.join(", ", UserSources.FORMATS));
        }
        if (imageSize < 8 || imageSize > 512) throw new IllegalArgumentException("imageSize must be in [8, 512]: " + imageSize);
        if (!(testFraction >= 0.0 && testFraction <= 0.5)) {
            throw new IllegalArgumentException("testFraction must be in [0, 0.5]: " + testFraction);
        }
        if (maxPerSource < 0) throw new IllegalArgumentException("maxPerSource must be >= 0 (0 = all): " + maxPerSource);
    }

    /** The built-in sources only. */
    public CorpusOptions(DataRoots roots, Path out, int imageSize, long seed, double testFraction, int maxPerSource) {
        this(Objects.requireNonNull(roots, "roots"), out, imageSize, seed, testFraction, maxPerSource, List.of(), "auto");
    }

    public static CorpusOptions defaults(DataRoots roots, Path out) {
        return new CorpusOptions(roots, out, DEFAULT_IMAGE_SIZE, 0L, DEFAULT_TEST_FRACTION, 0);
    }
}
