package m6j.data;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static m6j.data.DataFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

/** WebDataset tar shards as img2dataset writes them, read as streams, through `m6j corpus build --from DIR`. */
class WebDatasetTest {
    @TempDir Path tmp;

    static byte[] tar(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                TarArchiveEntry te = new TarArchiveEntry(e.getKey());
                te.setSize(e.getValue().length);
                t.putArchiveEntry(te);
                t.write(e.getValue());
                t.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    @Test
    void img2datasetShardsWithBadSamplesAndATruncatedTar() throws IOException {
        Path dir = tmp.resolve("laion-mini");
        Map<String, byte[]> a = new LinkedHashMap<>();
        a.put("000000000.jpg", encode(solid(32, 32, Color.BLUE), "jpeg"));
        a.put("000000000.txt", utf8("a blue square"));
        a.put("000000000.json", utf8("{\"caption\": \"ignored, txt wins\", \"url\": \"http://x/0.jpg\", \"key\": \"000000000\", \"status\": \"success\"}"));
        a.put("000000001.png", png(10, 10, Color.RED));
        a.put("000000001.json", utf8("{\"caption\": \"a red square\", \"label\": \"red\", \"split\": \"test\"}"));
        a.put("000000002.webp", WEBP_RED_BLUE);
        a.put("000000002.txt", utf8("half and half"));
        a.put("000000003.txt", utf8("text without its image"));
        a.put("000000004.jpg", truncatedJpeg());
        a.put("000000004.txt", utf8("cut jpeg"));
        a.put("000000005.png", png(8, 8, Color.GREEN));
        a.put("000000006.png", png(8, 8, Color.GREEN));
        a.put("000000006.json", utf8("{\"caption\": "));
        a.put("000000007.png", pngDeclaring(30_000, 30_000));
        a.put("000000007.txt", utf8("oversized"));
        a.put("sub/000000008.png", png(8, 8, Color.GREEN));
        a.put("sub/000000008.txt", utf8("a green square in a sub folder"));
        write(dir.resolve("00000.tar"), tar(a));

        Map<String, byte[]> b = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) {
            b.put("00001000" + i + ".png", png(8, 8, Color.MAGENTA));
            b.put("00001000" + i + ".txt", utf8("magenta " + i));
        }
        byte[] whole = tar(b);
        // Cut inside the last sample's image: the first two samples are read, the rest of the tar is lost.
        write(dir.resolve("00001.tar"), Arrays.copyOf(whole, 512 * 9 + 100));
        write(dir.resolve("00002.tar"), utf8("not a tar archive, and shorter than one tar block"));
        write(dir.resolve("00003.tar"), utf8("garbage where a tar header should be. ".repeat(40)));
        write(dir.resolve("readme.md"), "ignored");

        Corpus c = build(tmp.resolve("out"), dir.toString());
        SourceStats st = c.report().sources().get("laion-mini");
        assertThat(st.skipped()).containsExactlyInAnyOrderEntriesOf(Map.of(
                Skip.MISSING_IMAGE, 1L, Skip.CORRUPT_IMAGE, 1L, Skip.MISSING_CAPTION, 1L, Skip.BAD_JSON, 1L,
                Skip.TOO_LARGE_IMAGE, 1L, Skip.CORRUPT_TAR, 3L));
        assertThat(all(c, "laion-mini")).extracting(Example::text).containsExactlyInAnyOrder(
                "a blue square", "a red square", "half and half", "a green square in a sub folder", "magenta 0", "magenta 1");
        Example red = byText(c, "laion-mini", "a red square");
        assertThat(red.split()).isEqualTo(Split.TEST);
        assertThat(red.label()).isEqualTo("red");
        assertThat(red.id()).isEqualTo("00000.tar/000000001");
        assertThat(rgb(byText(c, "laion-mini", "half and half").image(), 16, 13, 8)[2]).isGreaterThan(200);
        assertThat(rgb(byText(c, "laion-mini", "a blue square").image(), 16, 8, 8)[2]).isGreaterThan(200);

        // One tar named on its own is the same source (named after its folder), read alone.
        Corpus one = build(tmp.resolve("out1"), dir.resolve("00000.tar").toString());
        assertThat(one.report().sources().get("laion-mini").total()).isEqualTo(4);
    }
}
