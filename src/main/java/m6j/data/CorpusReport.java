package m6j.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a corpus build produced; written last as corpus.json so a directory without it is an unfinished build.
 * Holds no timestamps so that the same inputs and options give a byte-identical report.
 *
 * @param sources source id -> counts and skip reasons, for every {@link Source}
 * @param shards  shard files in read order
 */
public record CorpusReport(int formatVersion, int imageSize, long seed, double testFraction, int maxPerSource,
                           Map<String, SourceStats> sources, List<ShardInfo> shards) {
    public static final String FILE_NAME = "corpus.json";

    public CorpusReport {
        Objects.requireNonNull(sources, "sources");
        Objects.requireNonNull(shards, "shards");
        if (formatVersion != ShardFormat.VERSION) {
            throw new IllegalArgumentException("unsupported corpus format version " + formatVersion);
        }
        if (imageSize <= 0) throw new IllegalArgumentException("imageSize must be positive: " + imageSize);
        for (String id : sources.keySet()) Source.byId(id);
        sources = Collections.unmodifiableMap(new LinkedHashMap<>(sources));
        shards = List.copyOf(shards);
    }

    public SourceStats stats(Source source) {
        SourceStats s = sources.get(source.id());
        return s == null ? SourceStats.notInstalled() : s;
    }

    public long count(Split split) {
        return sources.values().stream().mapToLong(s -> s.count(split)).sum();
    }

    public Map<Source, SourceStats> bySource() {
        Map<Source, SourceStats> m = new EnumMap<>(Source.class);
        for (Source s : Source.values()) m.put(s, stats(s));
        return m;
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise report", e);
        }
    }

    public static CorpusReport fromJson(String json) throws IOException {
        return JSON.readValue(json, CorpusReport.class);
    }

    /** A fixed-width table for the CLI: one row per source, then totals. */
    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%-15s %9s %8s %8s  %s%n", "source", "train", "test", "skipped", "reasons"));
        for (Map.Entry<Source, SourceStats> e : bySource().entrySet()) {
            SourceStats s = e.getValue();
            b.append(String.format("%-15s %9d %8d %8d  %s%n", e.getKey().id(), s.train(), s.test(), s.skippedTotal(),
                    s.skipped().isEmpty() ? "" : s.skipped().toString()));
        }
        long skipped = sources.values().stream().mapToLong(SourceStats::skippedTotal).sum();
        b.append(String.format("%-15s %9d %8d %8d  imageSize=%d shards=%d%n", "total", count(Split.TRAIN),
                count(Split.TEST), skipped, imageSize, shards.size()));
        return b.toString();
    }
}
