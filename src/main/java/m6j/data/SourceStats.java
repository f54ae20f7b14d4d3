package m6j.data;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Per-source counts in a {@link CorpusReport}.
 *
 * @param installed false when the source directory is missing (then skipped holds "not installed" -> 0)
 * @param skipped   reason -> number of records skipped for it (a whole unreadable file counts once)
 */
public record SourceStats(boolean installed, long train, long test, Map<String, Long> skipped) {
    public static final String NOT_INSTALLED = "not installed";

    public SourceStats {
        if (train < 0 || test < 0) throw new IllegalArgumentException("negative count");
        // TreeMap: sorted, so corpus.json is byte-identical across runs
        skipped = Collections.unmodifiableMap(new TreeMap<>(Objects.requireNonNull(skipped, "skipped")));
    }

    public static SourceStats notInstalled() {
        return new SourceStats(false, 0, 0, Map.of(NOT_INSTALLED, 0L));
    }

    public long count(Split split) { return split == Split.TRAIN ? train : test; }

    public long total() { return train + test; }

    public long skippedTotal() { return skipped.values().stream().mapToLong(Long::longValue).sum(); }
}
