package m6j.data;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Reads every source, settles splits, writes shards then corpus.json (last, atomically: its presence marks a
 * finished build). Missing sources and bad records end up in the report, never as exceptions.
 */
public final class CorpusBuilder {
    private static final Logger log = LoggerFactory.getLogger(CorpusBuilder.class);

    private CorpusBuilder() {}

    public static CorpusReport build(CorpusOptions o) throws IOException {
        return build(o, System.console() != null);
    }

    public static CorpusReport build(CorpusOptions o, boolean showProgress) throws IOException {
        Files.createDirectories(o.out());
        clearOldBuild(o.out());
        Map<Split, List<Example>> bySplit = new EnumMap<>(Split.class);
        for (Split s : Split.values()) bySplit.put(s, new ArrayList<>());
        Map<String, SourceStats> stats = new LinkedHashMap<>();
        for (Source source : Source.values()) {
            long t0 = System.nanoTime();
            try (SourceSink sink = new SourceSink(source, o.imageSize(), o.maxPerSource(), o.testFraction(), showProgress)) {
                try {
                    SourceReader.of(source).read(o.roots(), sink);
                } catch (IOException | RuntimeException e) {
                    log.warn("{}: read failed, keeping {} records read before it: {}", source.id(), sink.records().size(), e.toString());
                    sink.skip(Skip.READ_ERROR);
                }
                sink.close();
                List<Example> examples = settleSplits(source, sink.records(), o.testFraction());
                long train = examples.stream().filter(e -> e.split() == Split.TRAIN).count();
                for (Example e : examples) bySplit.get(e.split()).add(e);
                stats.put(source.id(), new SourceStats(sink.installed(), train, examples.size() - train, sink.skipped()));
                log.info("{}: {} train, {} test, skipped {} in {} ms", source.id(), train, examples.size() - train,
                        sink.skipped(), (System.nanoTime() - t0) / 1_000_000);
            }
        }
        List<ShardInfo> shards = new ArrayList<>();
        for (Split split : Split.values()) {
            List<Example> list = bySplit.get(split);
            // Seeded shuffle so a sequential reader of the shards sees sources mixed.
            Collections.shuffle(list, new Random(o.seed() * 31 + split.ordinal()));
            shards.addAll(writeShards(o.out(), split, o.imageSize(), list));
        }
        CorpusReport report = new CorpusReport(ShardFormat.VERSION, o.imageSize(), o.seed(), o.testFraction(),
                o.maxPerSource(), stats, shards);
        Path tmp = o.out().resolve(CorpusReport.FILE_NAME + ".tmp");
        Files.writeString(tmp, report.toJson() + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, o.out().resolve(CorpusReport.FILE_NAME), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        return report;
    }

    /** Removes a previous build's corpus.json first (so a crash leaves no stale, valid-looking corpus) and its shards. */
    private static void clearOldBuild(Path out) throws IOException {
        Files.deleteIfExists(out.resolve(CorpusReport.FILE_NAME));
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(out, "*" + ShardFormat.EXTENSION + "*")) {
            for (Path p : ds) Files.delete(p);
        }
    }

    private static List<ShardInfo> writeShards(Path out, Split split, int imageSize, List<Example> list) throws IOException {
        List<ShardInfo> infos = new ArrayList<>();
        int from = 0;
        while (from < list.size()) {
            long bytes = ShardFormat.HEADER_BYTES + 4;
            int to = from;
            while (to < list.size()) {
                long r = ShardFormat.recordBytes(list.get(to));
                if (to > from && bytes + r > ShardFormat.MAX_SHARD_BYTES) break;
                bytes += r;
                to++;
            }
            String name = String.format("%s-%05d%s", split.name().toLowerCase(), infos.size(), ShardFormat.EXTENSION);
            infos.add(ShardFormat.write(out, name, split, imageSize, list.subList(from, to)));
            from = to;
        }
        return infos;
    }

    /**
     * File-split records keep their split; the rest go to TEST when the hash of their id falls below testFraction.
     * At least one TEST record when there are two or more records and testFraction > 0.
     */
    static List<Example> settleSplits(Source source, List<SourceSink.Pending> pending, double testFraction) {
        List<Example> out = new ArrayList<>(pending.size());
        int hashed = 0, hashedTest = 0, lowest = -1;
        double lowestU = 2;
        for (int i = 0; i < pending.size(); i++) {
            SourceSink.Pending p = pending.get(i);
            Split split = p.fixedSplit();
            if (split == null) {
                double u = unitHash(source.id() + "\u0000" + p.id());
                split = u < testFraction ? Split.TEST : Split.TRAIN;
                hashed++;
                if (split == Split.TEST) hashedTest++;
                if (u < lowestU) {
                    lowestU = u;
                    lowest = i;
                }
            }
            out.add(new Example(source, split, p.id(), p.text(), p.label(), p.image()));
        }
        if (testFraction > 0 && hashed >= 2 && hashedTest == 0) {
            Example e = out.get(lowest);
            out.set(lowest, new Example(source, Split.TEST, e.id(), e.text(), e.label(), e.image()));
        }
        return out;
    }

    /** Stable across JVMs and platforms: first 8 bytes of SHA-256, as a fraction in [0, 1). */
    static double unitHash(String key) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return (ByteBuffer.wrap(d).getLong() >>> 11) * 0x1.0p-53;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
