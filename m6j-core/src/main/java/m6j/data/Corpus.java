package m6j.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/** A built corpus directory, loaded and verified fully into memory (it is small). */
public final class Corpus {
    private final Path dir;
    private final CorpusReport report;
    private final Map<Split, List<Example>> bySplit;
    /** split -> source id -> records */
    private final Map<Split, Map<String, List<Example>>> bySource;

    private Corpus(Path dir, CorpusReport report, Map<Split, List<Example>> bySplit,
                   Map<Split, Map<String, List<Example>>> bySource) {
        this.dir = dir;
        this.report = report;
        this.bySplit = bySplit;
        this.bySource = bySource;
    }

    /** Reads corpus.json and every shard it lists; checks sizes, CRCs and per-source counts against the report. */
    public static Corpus open(Path dir) throws IOException {
        Path json = dir.resolve(CorpusReport.FILE_NAME);
        String text;
        try {
            text = Files.readString(json, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IOException("missing " + json + " (not a built corpus, or the build did not finish)", e);
        } catch (IOException e) {
            throw new IOException("cannot read " + json + ": " + e.getMessage(), e);
        }
        CorpusReport report;
        try {
            report = CorpusReport.fromJson(text);
        } catch (IOException | RuntimeException e) {
            throw new IOException("corrupt " + json + ": " + e.getMessage(), e);
        }
        Map<String, Source> sources = new LinkedHashMap<>();
        for (Source s : Source.builtIns()) sources.put(s.id(), s);
        for (String id : report.sources().keySet()) sources.put(id, report.source(id));
        Map<Split, List<Example>> bySplit = new EnumMap<>(Split.class);
        Map<Split, Map<String, List<Example>>> bySource = new EnumMap<>(Split.class);
        for (Split s : Split.values()) {
            bySplit.put(s, new ArrayList<>());
            Map<String, List<Example>> m = new LinkedHashMap<>();
            for (String id : sources.keySet()) m.put(id, new ArrayList<>());
            bySource.put(s, m);
        }
        for (ShardInfo info : report.shards()) {
            for (Example e : ShardFormat.read(dir.resolve(info.file()), info, report.imageSize(), sources)) {
                bySplit.get(e.split()).add(e);
                bySource.get(e.split()).get(e.source().id()).add(e);
            }
        }
        for (Split s : Split.values()) {
            for (Source src : sources.values()) {
                long have = bySource.get(s).get(src.id()).size(), want = report.stats(src).count(s);
                if (have != want) {
                    throw new IOException(json + ": says " + want + " " + s + " records of " + src.id()
                            + " but the shards hold " + have);
                }
                bySource.get(s).put(src.id(), Collections.unmodifiableList(bySource.get(s).get(src.id())));
            }
            bySplit.put(s, Collections.unmodifiableList(bySplit.get(s)));
        }
        return new Corpus(dir, report, bySplit, bySource);
    }

    public Path dir() { return dir; }

    public int imageSize() { return report.imageSize(); }

    /** In shard order (seeded shuffle of all sources). */
    public List<Example> examples(Split split) { return bySplit.get(split); }

    /** The records of one source (built-in or a user's; matched by id), empty for a source not in the corpus. */
    public List<Example> examples(Split split, Source source) {
        return bySource.get(split).getOrDefault(source.id(), List.of());
    }

    /** The distinct non-empty labels of a split's records (of one source, or of all when source is null), first seen first. */
    public List<String> labels(Split split, Source source) {
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (Example e : source == null ? examples(split) : examples(split, source)) if (!e.label().isEmpty()) out.add(e.label());
        return List.copyOf(out);
    }

    /** Every source of this corpus (those in corpus.json), in build order. */
    public List<Source> sources() {
        return report.sources().keySet().stream().map(report::source).toList();
    }

    public CorpusReport report() { return report; }
}
