package m6j.data;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Per-source counts in a {@link CorpusReport}.
 *
 * @param installed false when the source directory is missing (then skipped holds "not installed" -> 0)
 * @param skipped   reason -> number of records skipped for it (a whole unreadable file counts once)
 * @param hasImages whether the source's records carry images (absent in format-1 corpus.json: false)
 */
public record SourceStats(boolean installed, long train, long test, Map<String, Long> skipped, boolean hasImages) {
    public static final String NOT_INSTALLED = "not installed";

    @JsonCreator
    public SourceStats(@JsonProperty("installed") boolean installed, @JsonProperty("train") long train,
                       @JsonProperty("test") long test, @JsonProperty("skipped") Map<String, Long> skipped,
                       @JsonProperty("hasImages") boolean hasImages) {
        if (train < 0 || test < 0) throw new IllegalArgumentException("negative count");
        this.installed = installed;
        this.train = train;
        this.test = test;
        // TreeMap: sorted, so corpus.json is byte-identical across runs
        this.skipped = Collections.unmodifiableMap(new TreeMap<>(Objects.requireNonNull(skipped, "skipped")));
        this.hasImages = hasImages;
    }

    public SourceStats(boolean installed, long train, long test, Map<String, Long> skipped) {
        this(installed, train, test, skipped, false);
    }

    public static SourceStats notInstalled() {
        return new SourceStats(false, 0, 0, Map.of(NOT_INSTALLED, 0L));
    }

    public long count(Split split) { return split == Split.TRAIN ? train : test; }

    public long total() { return train + test; }

    public long skippedTotal() { return skipped.values().stream().mapToLong(Long::longValue).sum(); }
}
