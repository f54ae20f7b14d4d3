package m6j.data;

import m6j.runtime.FileTrees;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * Reads every source (the built-in ones, then the user's datasets), settles splits, writes shards as it goes, then corpus.json (last, atomically: its presence marks a
 * finished build). Missing sources and bad records end up in the report, never as exceptions.
 */
public final class CorpusBuilder {
    private static final Logger log = LoggerFactory.getLogger(CorpusBuilder.class);

    private CorpusBuilder() {}

    public static CorpusReport build(CorpusOptions o) throws IOException {
        return build(o, System.console() != null);
    }

    public static CorpusReport build(CorpusOptions o, boolean showProgress) throws IOException {
        FileTrees.createDirectories(o.out());                   // a new corpus folder survives a power loss too
        clearOldBuild(o.out());
        List<SourceReader> readers = new ArrayList<>();
        if (o.roots() != null) for (Source s : Source.builtIns()) readers.add(SourceReader.of(s));
        readers.addAll(UserSources.readers(o.datasets(), o.format()));
        Map<String, SourceStats> stats = new LinkedHashMap<>();
        try (ShardWriter writer = new ShardWriter(o.out(), o.imageSize(), o.seed())) {
            for (SourceReader reader : readers) {
                Source source = reader.source();
                long t0 = System.nanoTime();
                try (SourceSink sink = new SourceSink(source, o.imageSize(), o.maxPerSource(), o.testFraction(), showProgress,
                        writer)) {
                    try {
                        reader.read(o.roots(), sink);
                    } catch (UncheckedIOException e) {
                        throw e.getCause(); // the shard writer failed: that is fatal, not a bad record
                    } catch (IOException | RuntimeException e) {
                        log.warn("{}: read failed, keeping {} records read before it: {}", source.id(), sink.accepted(), e.toString());
                        sink.skip(Skip.READ_ERROR);
                    }
                    sink.finish();
                    sink.close();
                    stats.put(source.id(), new SourceStats(sink.installed(), sink.train(), sink.test(), sink.skipped(),
                            source.hasImages() || sink.sawImage()));
                    log.info("{}: {} train, {} test, skipped {} in {} ms", source.id(), sink.train(), sink.test(),
                            sink.skipped(), (System.nanoTime() - t0) / 1_000_000);
                }
            }
            List<ShardInfo> shards = writer.finish();
            CorpusReport report = new CorpusReport(ShardFormat.VERSION, o.imageSize(), o.seed(), o.testFraction(),
                    o.maxPerSource(), stats, shards);
            Path tmp = o.out().resolve(CorpusReport.FILE_NAME + ".tmp");
            Files.writeString(tmp, report.toJson() + "\n", StandardCharsets.UTF_8);
            FileTrees.commit(tmp, o.out().resolve(CorpusReport.FILE_NAME));      // after the shards, each already on disk
            return report;
        }
    }

    /** Removes a previous build's corpus.json first (so a crash leaves no stale, valid-looking corpus) and its shards. */
    private static void clearOldBuild(Path out) throws IOException {
        Files.deleteIfExists(out.resolve(CorpusReport.FILE_NAME));
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(out, "*" + ShardFormat.EXTENSION + "*")) {
            for (Path p : ds) Files.delete(p);
        }
    }

    /**
     * Shards as you go: per split, records are buffered until the next one would make the shard cross
     * {@link ShardFormat#MAX_SHARD_BYTES}; the buffer is then shuffled (seeded) and written. Memory holds at most
     * one shard per split, however large the input; records of sources read one after another mix within a shard.
     */
    static final class ShardWriter implements SourceSink.Target, AutoCloseable {
        private final Path out;
        private final int imageSize;
        private final Map<Split, List<Example>> buffers = new EnumMap<>(Split.class);
        private final Map<Split, Long> bytes = new EnumMap<>(Split.class);
        private final Map<Split, Random> rngs = new EnumMap<>(Split.class);
        private final Map<Split, List<ShardInfo>> written = new EnumMap<>(Split.class);

        private final long maxShardBytes;

        ShardWriter(Path out, int imageSize, long seed) {
            this(out, imageSize, seed, ShardFormat.MAX_SHARD_BYTES);
        }

        ShardWriter(Path out, int imageSize, long seed, long maxShardBytes) {
            this.maxShardBytes = maxShardBytes;
            this.out = out;
            this.imageSize = imageSize;
            for (Split s : Split.values()) {
                buffers.put(s, new ArrayList<>());
                bytes.put(s, (long) ShardFormat.HEADER_BYTES + 4);
                rngs.put(s, new Random(seed * 31 + s.ordinal()));
                written.put(s, new ArrayList<>());
            }
        }

        @Override public void accept(Example e) throws IOException {
            Split s = e.split();
            long r = ShardFormat.recordBytes(e);
            if (!buffers.get(s).isEmpty() && bytes.get(s) + r > maxShardBytes) flush(s);
            buffers.get(s).add(e);
            bytes.merge(s, r, Long::sum);
        }

        @Override public boolean moveToTest(Example e) throws IOException {
            List<Example> train = buffers.get(Split.TRAIN);
            for (int i = train.size() - 1; i >= 0; i--) {
                if (train.get(i) != e) continue;
                train.remove(i);
                bytes.merge(Split.TRAIN, -ShardFormat.recordBytes(e), Long::sum);
                accept(new Example(e.source(), Split.TEST, e.id(), e.text(), e.label(), e.image(), e.prompt()));
                return true;
            }
            return false;
        }

        private void flush(Split s) throws IOException {
            List<Example> list = buffers.get(s);
            if (list.isEmpty()) return;
            Collections.shuffle(list, rngs.get(s));
            String name = String.format("%s-%05d%s", s.name().toLowerCase(), written.get(s).size(), ShardFormat.EXTENSION);
            written.get(s).add(ShardFormat.write(out, name, s, imageSize, list));
            list.clear();
            bytes.put(s, (long) ShardFormat.HEADER_BYTES + 4);
        }

        /** Writes what is buffered; the shards of every split, TRAIN first. */
        List<ShardInfo> finish() throws IOException {
            List<ShardInfo> all = new ArrayList<>();
            for (Split s : Split.values()) {
                flush(s);
                all.addAll(written.get(s));
            }
            return all;
        }

        @Override public void close() {
            for (List<Example> b : buffers.values()) b.clear();
        }
    }

    /** First 8 bytes of SHA-256 as a long: ids and dedup keys. */
    static long hash64(byte[] bytes) {
        try {
            return ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(bytes)).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
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
