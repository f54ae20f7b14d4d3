package m6j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static m6j.data.DataFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Hugging Face imagefolder datasets (metadata.jsonl and metadata.csv) through `m6j corpus build --from DIR`. */
class ImageFolderTest {
    @TempDir Path tmp;

    @Test
    void jsonlMetadataWithEveryImageFormatAndEveryBadRecord() throws IOException {
        Path root = tmp.resolve("Shop Products");
        write(root.resolve("train/a.png"), png(20, 10, Color.RED));
        write(root.resolve("imgs/nested/b.jpg"), encode(solid(16, 16, Color.BLUE), "jpeg"));
        write(root.resolve("c.gif"), encode(solid(8, 8, Color.GREEN), "gif"));
        write(root.resolve("d.bmp"), encode(solid(12, 12, Color.YELLOW), "bmp"));
        write(root.resolve("e.webp"), WEBP_RED_BLUE);
        write(root.resolve("huge-side.png"), pngDeclaring(40_000, 1));
        write(root.resolve("huge-area.png"), pngDeclaring(30_000, 30_000));
        write(root.resolve("cut.jpg"), truncatedJpeg());
        write(root.resolve("pic.tiff"), encode(solid(8, 8, Color.RED), "tiff"));
        write(root.resolve("notes.png"), "this is not an image at all, just words");
        write(tmp.resolve("outside.png"), png(8, 8, Color.RED));
        Files.createSymbolicLink(root.resolve("link.png"), tmp.resolve("outside.png"));
        write(root.resolve("labels.txt"), "mug\nbowl\ncup\n");
        write(root.resolve("metadata.jsonl"), String.join("\n",
                "{\"file_name\": \"train/a.png\", \"text\": \"a red mug\", \"label\": \"mug\", \"split\": \"train\"}",
                "{\"file_name\": \"imgs/nested/b.jpg\", \"text\": \"a blue bowl\", \"label\": 1, \"split\": \"test\"}",
                "{\"file_name\": \"c.gif\", \"text\": \"a green cup\", \"split\": \"validation\"}",
                "{\"file_name\": \"d.bmp\", \"text\": \"a yellow plate\", \"prompt\": \"Describe the image.\"}",
                "{\"file_name\": \"e.webp\", \"text\": \"red and blue halves\"}",
                "{\"file_name\": \"../outside.png\", \"text\": \"climbs out\"}",
                "{\"file_name\": \"/etc/hostname\", \"text\": \"absolute\"}",
                "{\"file_name\": \"link.png\", \"text\": \"symlink out\"}",
                "{\"file_name\": \"missing.png\", \"text\": \"not there\"}",
                "{\"file_name\": \"huge-side.png\", \"text\": \"declares 40000x1\"}",
                "{\"file_name\": \"huge-area.png\", \"text\": \"declares 30000x30000\"}",
                "{\"file_name\": \"cut.jpg\", \"text\": \"truncated\"}",
                "{\"file_name\": \"pic.tiff\", \"text\": \"tiff is not whitelisted\"}",
                "{\"file_name\": \"notes.png\", \"text\": \"text file named png\"}",
                "{\"file_name\": \"c.gif\"}",
                "{\"file_name\": \"c.gif\", \"text\": \"a spoon\", \"label\": \"spoon\"}",
                "{\"file_name\": \"c.gif\", \"text\": \"odd split\", \"split\": \"holdout\"}",
                "{\"text\": \"no file name\"}",
                "{\"file_name\": \"c.gif\", \"text\": broken json",
                ""));
        long t0 = System.nanoTime();
        Corpus c = build(tmp.resolve("out"), root.toString());
        assertThat((System.nanoTime() - t0) / 1e9).as("oversized headers are refused without decoding").isLessThan(10);

        SourceStats st = c.report().sources().get("shop-products");
        assertThat(st.hasImages()).isTrue();
        assertThat(st.total()).isEqualTo(5);
        assertThat(st.skipped()).containsExactlyInAnyOrderEntriesOf(Map.ofEntries(
                Map.entry(Skip.PATH_ESCAPE, 3L), Map.entry(Skip.MISSING_IMAGE, 1L), Map.entry(Skip.TOO_LARGE_IMAGE, 2L),
                Map.entry(Skip.CORRUPT_IMAGE, 1L), Map.entry(Skip.UNSUPPORTED_IMAGE, 1L), Map.entry(Skip.NOT_AN_IMAGE, 1L),
                Map.entry(Skip.MISSING_CAPTION, 1L), Map.entry(Skip.UNKNOWN_LABEL, 1L), Map.entry(Skip.UNKNOWN_SPLIT, 1L),
                Map.entry(Skip.UNRECOGNISED_RECORD, 1L), Map.entry(Skip.BAD_JSON, 1L)));

        Example a = byText(c, "shop-products", "a red mug");
        assertThat(a.split()).isEqualTo(Split.TRAIN);
        assertThat(a.label()).isEqualTo("mug");
        assertThat(a.id()).isEqualTo("train/a.png");
        assertThat(a.source()).isEqualTo(c.report().source("shop-products"));
        assertThat(rgb(a.image(), 16, 8, 8)).containsExactly(255, 0, 0);
        assertThat(rgb(a.image(), 16, 8, 0)).containsExactly(255, 255, 255); // 20x10 padded to a square with white
        Example b = byText(c, "shop-products", "a blue bowl");
        assertThat(b.split()).isEqualTo(Split.TEST);
        assertThat(b.label()).as("integer label indexes labels.txt").isEqualTo("bowl");
        assertThat(byText(c, "shop-products", "a green cup").split()).isEqualTo(Split.TEST);
        assertThat(byText(c, "shop-products", "a yellow plate").prompt()).isEqualTo("Describe the image.");
        Example webp = byText(c, "shop-products", "red and blue halves");
        assertThat(webp.image()).hasSize(16 * 16 * 3);
        int[] left = rgb(webp.image(), 16, 2, 8), right = rgb(webp.image(), 16, 13, 8);
        assertThat(left[0]).isGreaterThan(200);
        assertThat(left[2]).isLessThan(50);
        assertThat(right[2]).isGreaterThan(200);
        assertThat(right[0]).isLessThan(50);
        assertThat(c.examples(Split.TRAIN, c.report().source("shop-products"))).allSatisfy(e ->
                assertThat(e.image()).hasSize(16 * 16 * 3));
    }

    @Test
    void csvMetadataPerSplitFolder() throws IOException {
        Path root = tmp.resolve("pets");
        for (String split : new String[]{"train", "test"}) {
            for (int i = 0; i < 3; i++) write(root.resolve(split + "/img" + i + ".png"), png(8, 8, new Color(i * 80, 10, 10)));
        }
        write(root.resolve("labels.txt"), "cat\ndog\n");
        write(root.resolve("train/metadata.csv"), "file_name,text,label\n"
                + "img0.png,\"a cat, sleeping\",0\n"
                + "img1.png,a dog,dog\n"
                + "img2.png,a fish,7\n");
        write(root.resolve("test/metadata.csv"), "file_name,text,label,split\n"
                + "img0.png,a test cat,cat,\n"
                + "img1.png,,dog,\n"
                + "img2.png,moved to train,cat,train\n");
        Corpus c = build(tmp.resolve("out"), root.toString());
        SourceStats st = c.report().sources().get("pets");
        assertThat(st.skipped()).containsExactly(Map.entry(Skip.UNKNOWN_LABEL, 1L));
        assertThat(st.train()).isEqualTo(3);
        assertThat(st.test()).isEqualTo(2);
        Example cat = byText(c, "pets", "a cat, sleeping");
        assertThat(cat.label()).isEqualTo("cat");
        assertThat(cat.split()).isEqualTo(Split.TRAIN);
        assertThat(byText(c, "pets", "a test cat").split()).isEqualTo(Split.TEST);
        assertThat(byText(c, "pets", "dog").split()).as("label stands in for a missing caption").isEqualTo(Split.TEST);
        assertThat(byText(c, "pets", "moved to train").split()).isEqualTo(Split.TRAIN);
    }
}
