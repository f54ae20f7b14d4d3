package m6j.data;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Bad inputs written into a temp copy of a small part of the sample: skipped and counted, never fatal. */
class CorruptInputTest {
    static final Path SAMPLE = Path.of("data", "sample").toAbsolutePath();
    @TempDir static Path tmp;
    static CorpusReport report;
    static Corpus corpus;

    @BeforeAll
    static void buildFromBrokenRoots() throws IOException {
        Path r = tmp.resolve("roots");
        DataRoots roots = new DataRoots(r.resolve("fm"), r.resolve("oca/png"), r.resolve("oca/svg"), r.resolve("emoji"),
                r.resolve("brown"), r.resolve("fortunes"), r.resolve("poetry"));

        // Fashion-MNIST: train header says 10 but holds 7; t10k is the sample file cut mid-stream.
        Files.createDirectories(roots.fashionMnist());
        writeIdx(roots.fashionMnist().resolve("train-images-idx3-ubyte.gz"), FashionMnistReader.IMAGES_MAGIC, 10, 7, 784);
        writeIdx(roots.fashionMnist().resolve("train-labels-idx1-ubyte.gz"), FashionMnistReader.LABELS_MAGIC, 10, 10, 1);
        byte[] t10k = Files.readAllBytes(SAMPLE.resolve("fashion-mnist/t10k-images-idx3-ubyte.gz"));
        Files.write(roots.fashionMnist().resolve("t10k-images-idx3-ubyte.gz"), Arrays.copyOf(t10k, t10k.length / 2));
        Files.copy(SAMPLE.resolve("fashion-mnist/t10k-labels-idx1-ubyte.gz"), roots.fashionMnist().resolve("t10k-labels-idx1-ubyte.gz"));

        // Open Clip Art: three good PNGs, one truncated, one text file named .png; no SVGs (file-name captions).
        Path animals = roots.openclipartPng().resolve("animals");
        Files.createDirectories(animals);
        List<Path> pngs;
        try (Stream<Path> s = Files.walk(SAMPLE.resolve("openclipart/png/animals"))) {
            pngs = s.filter(p -> p.toString().endsWith(".png")).sorted().limit(3).toList();
        }
        for (Path p : pngs) Files.copy(p, animals.resolve(p.getFileName()));
        byte[] png = Files.readAllBytes(pngs.get(0));
        Files.write(animals.resolve("cut_cat_01.png"), Arrays.copyOf(png, png.length / 2));
        Files.writeString(animals.resolve("not_an_image.png"), "hello, I am text\n");

        // Twemoji: one good, one missing image, one non-image.
        Path img = roots.twemoji().resolve("img/twitter/64");
        Files.createDirectories(img);
        Files.copy(SAMPLE.resolve("twemoji/img/twitter/64/1f454.png"), img.resolve("1f454.png"));
        Files.writeString(img.resolve("bad.png"), "plain words, no image here");
        Files.writeString(roots.twemoji().resolve("emoji.json"), """
                [{"name":"NECKTIE","image":"1f454.png","category":"Objects","has_img_twitter":true},
                 {"name":"GONE","image":"0000.png","category":"Objects","has_img_twitter":true},
                 {"name":"BROKEN","image":"bad.png","category":"Objects","has_img_twitter":true}]""");

        // Brown: one real file plus one with bad UTF-8.
        Files.createDirectories(roots.brown());
        Files.copy(SAMPLE.resolve("brown/ca01"), roots.brown().resolve("ca01"));
        Files.copy(SAMPLE.resolve("brown/cats.txt"), roots.brown().resolve("cats.txt"));
        Files.write(roots.brown().resolve("cb99"), new byte[]{'T', 'h', 'e', '/', 'a', 't', ' ', (byte) 0xC3, 0x28, '/', 'n', 'n'});

        // Fortunes: an English file with one bad-UTF-8 entry and one over-long entry; a zh file with ANSI colour.
        Files.createDirectories(roots.fortunes());
        ByteArrayOutputStream en = new ByteArrayOutputStream();
        en.write("Wit is educated insolence.\n\t\t-- Aristotle\n%\n".getBytes(StandardCharsets.UTF_8));
        en.write(new byte[]{'b', 'a', 'd', ' ', (byte) 0xFF, '\n', '%', '\n'});
        en.write(("x".repeat(500) + "\n%\nLast one.\n").getBytes(StandardCharsets.UTF_8));
        Files.write(roots.fortunes().resolve("wisdom"), en.toByteArray());
        Files.write(roots.fortunes().resolve("wisdom.dat"), new byte[]{1, 2, 3});
        Files.writeString(roots.fortunes().resolve("tang300"), "\u001B[32m《靜夜思》\u001B[m\n床前明月光\n%\n");

        // chinese-poetry: one good file (with an over-long poem), one broken JSON file.
        Path qts = roots.chinesePoetry().resolve("dist/quantangshi");
        Files.createDirectories(qts);
        Files.writeString(qts.resolve("poet.tang.0.json"), """
                [{"author":"李白","title":"靜夜思","paragraphs":["床前明月光，疑是地上霜。","舉頭望明月，低頭思故鄉。"]},
                 {"author":"x","title":"long","paragraphs":["%s"]},
                 {"author":"y","title":"t","paragraphs":["白日依山盡，黃河入海流。"]}]""".formatted("長".repeat(400)));
        Files.writeString(qts.resolve("poet.tang.1000.json"), "[{\"author\": \"broken\", \"paragraphs\": [");

        report = CorpusBuilder.build(new CorpusOptions(roots, tmp.resolve("out"), 16, 1L, 0.05, 0), false);
        corpus = Corpus.open(tmp.resolve("out"));
    }

    private static void writeIdx(Path p, int magic, int declared, int actual, int itemBytes) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(p)))) {
            out.writeInt(magic);
            out.writeInt(declared);
            if (itemBytes > 1) {
                out.writeInt(28);
                out.writeInt(28);
            }
            for (int i = 0; i < actual * itemBytes; i++) out.write(itemBytes > 1 ? i % 251 : i % 10);
        }
    }

    @Test
    void truncatedIdxKeepsCompleteRecords() {
        SourceStats fm = report.stats(Source.FASHION_MNIST);
        assertThat(fm.train()).isEqualTo(7);
        assertThat(fm.test()).isBetween(1L, 1999L);
        assertThat(fm.skipped().get(Skip.TRUNCATED_IDX)).isEqualTo(3 + (2000 - fm.test()));
    }

    @Test
    void badImagesAreSkippedWithReasons() {
        SourceStats oca = report.stats(Source.OPENCLIPART);
        assertThat(oca.total()).isEqualTo(3);
        assertThat(oca.skipped()).containsEntry(Skip.CORRUPT_IMAGE, 1L).containsEntry(Skip.NOT_AN_IMAGE, 1L);
        SourceStats tw = report.stats(Source.TWEMOJI);
        assertThat(tw.total()).isEqualTo(1);
        assertThat(tw.skipped()).containsEntry(Skip.MISSING_IMAGE, 1L).containsEntry(Skip.NOT_AN_IMAGE, 1L);
        assertThat(corpus.examples(Split.TRAIN, Source.TWEMOJI)).singleElement()
                .satisfies(e -> assertThat(e.text()).isEqualTo("necktie"));
    }

    @Test
    void badTextIsSkippedWithReasons() {
        assertThat(report.stats(Source.BROWN).skipped()).containsEntry(Skip.BAD_UTF8, 1L);
        assertThat(report.stats(Source.BROWN).total()).isPositive();
        SourceStats en = report.stats(Source.FORTUNES_EN);
        assertThat(en.total()).isEqualTo(2);
        assertThat(en.skipped()).containsEntry(Skip.BAD_UTF8, 1L).containsEntry(Skip.TOO_LONG, 1L);
        assertThat(Stream.concat(corpus.examples(Split.TRAIN, Source.FORTUNES_EN).stream(),
                corpus.examples(Split.TEST, Source.FORTUNES_EN).stream()).map(Example::text))
                .contains("Wit is educated insolence.\n-- Aristotle", "Last one.");
        SourceStats zh = report.stats(Source.FORTUNES_ZH);
        assertThat(zh.total()).isEqualTo(1);
        Example poem = Stream.concat(corpus.examples(Split.TRAIN, Source.FORTUNES_ZH).stream(),
                corpus.examples(Split.TEST, Source.FORTUNES_ZH).stream()).findFirst().orElseThrow();
        assertThat(poem.text()).isEqualTo("《靜夜思》\n床前明月光");
        SourceStats cp = report.stats(Source.CHINESE_POETRY);
        assertThat(cp.total()).isEqualTo(2);
        assertThat(cp.skipped()).containsEntry(Skip.BAD_JSON, 1L).containsEntry(Skip.TOO_LONG, 1L);
    }

    @Test
    void everySourceWithTwoRecordsHasATestRecord() {
        for (Source s : List.of(Source.OPENCLIPART, Source.BROWN, Source.FORTUNES_EN, Source.CHINESE_POETRY)) {
            assertThat(report.stats(s).test()).as(s.id()).isGreaterThanOrEqualTo(1);
        }
    }

}
