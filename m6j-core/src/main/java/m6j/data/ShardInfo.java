package m6j.data;

import java.util.Objects;

/** One shard file of a built corpus, as listed in corpus.json; crc32 covers the whole file but its last 4 bytes. */
public record ShardInfo(String file, Split split, int records, long bytes, long crc32) {
    public ShardInfo {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(split, "split");
        if (file.contains("/") || file.contains("\\") || file.startsWith(".")) {
            throw new IllegalArgumentException("shard file must be a plain name: " + file);
        }
        if (records < 0 || bytes < 0) throw new IllegalArgumentException("negative size in shard " + file);
    }
}
