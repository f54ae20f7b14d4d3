package m6j.data;

import m6j.runtime.Json;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a corpus build produced; written last as corpus.json so a directory without it is an unfinished build.
 * Holds no timestamps so that the same inputs and options give a byte-identical report.
 *
 * @param formatVersion the shard format version the shards were written in (1 or 2, see {@link ShardFormat})
 * @param sources source id -> counts and skip reasons, for every source read (built-in or a user's)
 * @param shards  shard files in read order
 */
public record CorpusReport(int formatVersion, int imageSize, long seed, double testFraction, int maxPerSource,
                           Map<String, SourceStats> sources, List<ShardInfo> shards) {
    public static final String FILE_NAME = "corpus.json";

    public CorpusReport {
        Objects.requireNonNull(sources, "sources");
        Objects.requireNonNull(shards, "shards");
        if (formatVersion < 1 || formatVersion > ShardFormat.VERSION) {
            throw new IllegalArgumentException("unsupported corpus format version " + formatVersion);
        }
        if (imageSize <= 0) throw new IllegalArgumentException("imageSize must be positive: " + imageSize);
        for (String id : sources.keySet()) new Source(id, false); // validates the id
        sources = Collections.unmodifiableMap(new LinkedHashMap<>(sources));
        shards = List.copyOf(shards);
    }

    /** The source of that id: the built-in constant, or a user source whose hasImages comes from its stats. */
    public Source source(String id) {
        SourceStats s = sources.get(id);
        return Source.of(id, s != null && s.hasImages());
    }

    public SourceStats stats(Source source) {
        SourceStats s = sources.get(source.id());
        return s == null ? SourceStats.notInstalled() : s;
    }

    public long count(Split split) {
        return sources.values().stream().mapToLong(s -> s.count(split)).sum();
    }

    /** Every source of the report in its order; for a report without them, the built-ins as "not installed". */
    public Map<Source, SourceStats> bySource() {
        Map<Source, SourceStats> m = new LinkedHashMap<>();
        for (String id : sources.keySet()) m.put(source(id), sources.get(id));
        return m;
    }

    private static final ObjectMapper JSON = Json.MAPPER;

    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
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
        b.append(String.format("%-20s %9s %8s %8s  %s%n", "source", "train", "test", "skipped", "reasons"));
        for (Map.Entry<Source, SourceStats> e : bySource().entrySet()) {
            SourceStats s = e.getValue();
            b.append(String.format("%-20s %9d %8d %8d  %s%n", e.getKey().id(), s.train(), s.test(), s.skippedTotal(),
                    s.skipped().isEmpty() ? "" : s.skipped().toString()));
        }
        long skipped = sources.values().stream().mapToLong(SourceStats::skippedTotal).sum();
        b.append(String.format("%-20s %9d %8d %8d  imageSize=%d shards=%d%n", "total", count(Split.TRAIN),
                count(Split.TEST), skipped, imageSize, shards.size()));
        return b.toString();
    }
}
