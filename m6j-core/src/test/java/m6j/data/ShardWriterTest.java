package m6j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Shards are written as records arrive: a shard is closed before a record would make it cross the cap. */
class ShardWriterTest {
    @TempDir Path tmp;

    @Test
    void writesShardsAsItGoes() throws IOException {
        Source src = new Source("stream", true);
        List<ShardInfo> shards;
        try (CorpusBuilder.ShardWriter w = new CorpusBuilder.ShardWriter(tmp, 8, 1L, 4096)) {
            for (int i = 0; i < 60; i++) {
                w.accept(new Example(src, i % 10 == 0 ? Split.TEST : Split.TRAIN, "r" + i, "text " + i, "",
                        new byte[8 * 8 * 3], "prompt " + i));
                if (i == 40) assertThat(Files.list(tmp).filter(p -> p.toString().endsWith(".m6c")).count())
                        .as("shards on disk before the end").isPositive();
            }
            shards = w.finish();
        }
        assertThat(shards.size()).isGreaterThan(4);
        List<Example> back = new ArrayList<>();
        for (ShardInfo s : shards) {
            assertThat(s.bytes()).isLessThanOrEqualTo(4096);
            back.addAll(ShardFormat.read(tmp.resolve(s.file()), s, 8, Map.of("stream", src)));
        }
        assertThat(back).hasSize(60).extracting(Example::id).doesNotHaveDuplicates();
        assertThat(back).filteredOn(e -> e.split() == Split.TEST).hasSize(6);
        assertThat(back).allSatisfy(e -> assertThat(e.prompt()).isEqualTo("prompt " + e.id().substring(1)));
    }
}
