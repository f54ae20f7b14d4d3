package m6j.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** A built corpus directory, loaded and verified fully into memory (it is small). */
public final class Corpus {
    private final Path dir;
    private final CorpusReport report;
    private final Map<Split, List<Example>> bySplit;
    private final Map<Split, Map<Source, List<Example>>> bySource;

    private Corpus(Path dir, CorpusReport report, Map<Split, List<Example>> bySplit,
                   Map<Split, Map<Source, List<Example>>> bySource) {
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
        Map<Split, List<Example>> bySplit = new EnumMap<>(Split.class);
        Map<Split, Map<Source, List<Example>>> bySource = new EnumMap<>(Split.class);
        for (Split s : Split.values()) {
            bySplit.put(s, new ArrayList<>());
            Map<Source, List<Example>> m = new EnumMap<>(Source.class);
            for (Source src : Source.values()) m.put(src, new ArrayList<>());
            bySource.put(s, m);
        }
        for (ShardInfo info : report.shards()) {
            for (Example e : ShardFormat.read(dir.resolve(info.file()), info, report.imageSize())) {
                bySplit.get(e.split()).add(e);
                bySource.get(e.split()).get(e.source()).add(e);
            }
        }
        for (Split s : Split.values()) {
            for (Source src : Source.values()) {
                long have = bySource.get(s).get(src).size(), want = report.stats(src).count(s);
                if (have != want) {
                    throw new IOException(json + ": says " + want + " " + s + " records of " + src.id()
                            + " but the shards hold " + have);
                }
                bySource.get(s).put(src, Collections.unmodifiableList(bySource.get(s).get(src)));
            }
            bySplit.put(s, Collections.unmodifiableList(bySplit.get(s)));
        }
        return new Corpus(dir, report, bySplit, bySource);
    }

    public Path dir() { return dir; }

    public int imageSize() { return report.imageSize(); }

    /** In shard order (seeded shuffle of all sources). */
    public List<Example> examples(Split split) { return bySplit.get(split); }

    public List<Example> examples(Split split, Source source) { return bySource.get(split).get(source); }

    public CorpusReport report() { return report; }
}
