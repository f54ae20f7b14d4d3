package m6j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32;
import java.util.Arrays;

import static m6j.data.DataFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Built-in and user sources side by side, detection errors as usage errors, and the format-1 corpus still read. */
class UserSourcesTest {
    @TempDir Path tmp;

    @Test
    void sampleAndUserDatasetInOneCorpus() throws IOException {
        write(tmp.resolve("notes.jsonl"), "{\"text\": \"my own words\", \"split\": \"train\"}\n"
                + "{\"text\": \"brown\", \"split\": \"test\"}\n");
        write(tmp.resolve("brown/x.jsonl"), "{\"text\": \"a user source whose folder is called brown\"}\n");
        Corpus c = build(tmp.resolve("out"), "sample," + tmp.resolve("notes.jsonl") + "," + tmp.resolve("brown"),
                "--max-per-source", "10");
        assertThat(c.sources()).extracting(Source::id).startsWith("fashion-mnist").contains("notes", "brown-2");
        assertThat(c.report().stats(Source.FASHION_MNIST).total()).isEqualTo(10);
        assertThat(c.examples(Split.TEST, Source.FASHION_MNIST)).allSatisfy(e -> assertThat(e.source()).isSameAs(Source.FASHION_MNIST));
        Source notes = c.report().source("notes");
        assertThat(notes.builtIn()).isFalse();
        assertThat(c.examples(Split.TRAIN, notes)).singleElement().satisfies(e -> {
            assertThat(e.text()).isEqualTo("my own words");
            assertThat(e.source().id()).isEqualTo("notes");
        });
        assertThat(c.examples(Split.TEST, new Source("notes", false))).extracting(Example::text).containsExactly("brown");
        assertThat(all(c, "brown-2")).hasSize(1);
        assertThat(c.report().table()).contains("notes", "brown-2", "fashion-mnist");
    }

    @Test
    void unknownPathsAndFormatsAreUsageErrors() throws IOException {
        Files.createDirectories(tmp.resolve("empty"));
        write(tmp.resolve("x.bin"), "??");
        for (String[] args : new String[][]{
                {"--from", tmp.resolve("nowhere").toString()},
                {"--from", tmp.resolve("empty").toString()},
                {"--from", tmp.resolve("x.bin").toString()},
                {"--from", tmp.resolve("x.bin").toString(), "--format", "parquet"},
                {"--from", tmp.resolve("empty").toString(), "--format", "webdataset"}}) {
            Run r = corpusBuild(concat(args, "--out", tmp.resolve("o").toString()));
            assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err()).containsAnyOf("no such file", "cannot tell the format", "unknown format", "holds no webdataset");
        }
    }

    @Test
    void formatOverridesDetection() throws IOException {
        write(tmp.resolve("export.txt"), "{\"prompt\": \"2+2?\", \"completion\": \"4\"}\n");
        Corpus c = build(tmp.resolve("out"), tmp.resolve("export.txt").toString(), "--format", "jsonl");
        assertThat(all(c, "export.txt")).singleElement().satisfies(e -> assertThat(e.prompt()).isEqualTo("2+2?"));
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** A corpus written before shard format 2 (no prompt, no hasImages in corpus.json) opens as it did. */
    @Test
    void formatOneCorpusStillOpens() throws IOException {
        Path dir = tmp.resolve("v1");
        Files.createDirectories(dir);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[]{'M', '6', 'J', 'C'});
        out.writeInt(1);
        out.writeInt(8);
        out.writeInt(0);
        out.writeInt(1);
        byte[][] strs = {"brown".getBytes(StandardCharsets.UTF_8), "ca01:1".getBytes(StandardCharsets.UTF_8),
                "The jury said.".getBytes(StandardCharsets.UTF_8), "news".getBytes(StandardCharsets.UTF_8)};
        int body = 4 * 4 + 4;
        for (byte[] s : strs) body += s.length;
        out.writeInt(body);
        for (byte[] s : strs) {
            out.writeInt(s.length);
            out.write(s);
        }
        out.writeInt(-1);
        out.flush();
        CRC32 crc = new CRC32();
        crc.update(bytes.toByteArray());
        out.writeInt((int) crc.getValue());
        out.flush();
        byte[] shard = bytes.toByteArray();
        Files.write(dir.resolve("train-00000.m6c"), shard);
        Files.writeString(dir.resolve("corpus.json"), "{\"formatVersion\": 1, \"imageSize\": 8, \"seed\": 0, "
                + "\"testFraction\": 0.05, \"maxPerSource\": 0, \"sources\": {\"brown\": {\"installed\": true, "
                + "\"train\": 1, \"test\": 0, \"skipped\": {}}}, \"shards\": [{\"file\": \"train-00000.m6c\", "
                + "\"split\": \"TRAIN\", \"records\": 1, \"bytes\": " + shard.length + ", \"crc32\": " + crc.getValue() + "}]}");
        Corpus c = Corpus.open(dir);
        assertThat(c.examples(Split.TRAIN, Source.BROWN)).singleElement().satisfies(e -> {
            assertThat(e.text()).isEqualTo("The jury said.");
            assertThat(e.label()).isEqualTo("news");
            assertThat(e.prompt()).isEmpty();
            assertThat(e.source()).isSameAs(Source.BROWN);
        });
        assertThat(c.report().formatVersion()).isEqualTo(1);
        assertThat(c.sources()).containsExactly(Source.BROWN);
    }

    @Test
    void sourceIdentity() {
        assertThat(Source.values()).hasSize(7).startsWith(Source.FASHION_MNIST);
        assertThat(Source.of("twemoji", false)).isSameAs(Source.TWEMOJI);
        assertThat(Source.userId("My Photos (2024).tar.gz")).isEqualTo("my-photos-2024-");
        assertThat(Source.userId("..")).isEqualTo("data");
        assertThat(new Example(Source.BROWN, Split.TRAIN, "x", "t", "", null).prompt()).isEmpty();
        assertThat(List.of(Source.values())).allMatch(Source::builtIn);
    }
}
