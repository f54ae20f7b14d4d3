package m6j.data;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** Builds a corpus from the committed data/sample once and checks what came out. */
class SampleCorpusTest {
    @TempDir static Path tmp;
    static CorpusReport report;
    static Corpus corpus;

    @BeforeAll
    static void build() throws IOException {
        DataRoots roots = DataRoots.sample(Path.of("").toAbsolutePath());
        report = CorpusBuilder.build(new CorpusOptions(roots, tmp.resolve("c"), 32, 7L, 0.05, 0), false);
        corpus = Corpus.open(tmp.resolve("c"));
    }

    @Test
    void countsPerSource() {
        SourceStats fm = report.stats(Source.FASHION_MNIST);
        assertThat(fm.train()).isEqualTo(15_000);
        assertThat(fm.test()).isEqualTo(2_000);
        assertThat(fm.skipped()).isEmpty();
        assertThat(report.stats(Source.OPENCLIPART).total()).isBetween(600L, 1000L);
        assertThat(report.stats(Source.TWEMOJI).total()).isEqualTo(600);
        assertThat(report.stats(Source.BROWN).total()).isGreaterThan(3_000);
        assertThat(report.stats(Source.CHINESE_POETRY).total()).isGreaterThan(3_000);
        for (Source s : List.of(Source.FORTUNES_EN, Source.FORTUNES_ZH)) {
            assertThat(report.stats(s).installed()).isFalse();
            assertThat(report.stats(s).total()).isZero();
            assertThat(report.stats(s).skipped()).containsEntry(Skip.NOT_INSTALLED, 0L);
        }
        for (Source s : List.of(Source.OPENCLIPART, Source.TWEMOJI, Source.BROWN, Source.CHINESE_POETRY)) {
            SourceStats st = report.stats(s);
            assertThat(st.installed()).isTrue();
            assertThat(st.test()).as(s.id()).isPositive();
            // hash split lands near the requested 5%
            assertThat((double) st.test() / st.total()).as(s.id()).isBetween(0.02, 0.09);
        }
    }

    @Test
    void reopenedCorpusMatchesReport() {
        assertThat(corpus.report()).isEqualTo(report);
        assertThat(corpus.imageSize()).isEqualTo(32);
        for (Split split : Split.values()) {
            assertThat((long) corpus.examples(split).size()).isEqualTo(report.count(split));
            for (Source s : Source.values()) {
                assertThat(corpus.examples(split, s)).hasSize((int) report.stats(s).count(split))
                        .allSatisfy(e -> assertThat(e.source()).isEqualTo(s))
                        .allSatisfy(e -> assertThat(e.split()).isEqualTo(split));
            }
        }
        Set<String> trainIds = corpus.examples(Split.TRAIN).stream().map(e -> e.source().id() + "/" + e.id())
                .collect(Collectors.toSet());
        assertThat(corpus.examples(Split.TEST)).noneMatch(e -> trainIds.contains(e.source().id() + "/" + e.id()));
        assertThat(report.shards()).isNotEmpty().allSatisfy(sh -> assertThat(tmp.resolve("c").resolve(sh.file())).exists());
    }

    @Test
    void imagesHaveTheRightShapeOnlyForImageSources() {
        for (Split split : Split.values()) {
            for (Example e : corpus.examples(split)) {
                if (e.source().hasImages()) assertThat(e.image()).hasSize(32 * 32 * 3);
                else assertThat(e.image()).isNull();
                assertThat(e.text()).isNotBlank();
            }
        }
    }

    @Test
    void fashionCaptionsAndGreyImages() {
        Example e = corpus.examples(Split.TEST, Source.FASHION_MNIST).stream()
                .filter(x -> x.label().equals("ankle boot")).findFirst().orElseThrow();
        assertThat(e.text()).isEqualTo("an ankle boot");
        assertThat(FashionMnistReader.caption("t-shirt")).isEqualTo("a t-shirt");
        byte[] img = e.image();
        for (int i = 0; i < img.length; i += 3) {
            assertThat(img[i]).isEqualTo(img[i + 1]).isEqualTo(img[i + 2]);
        }
        assertThat(corpus.examples(Split.TRAIN, Source.FASHION_MNIST))
                .extracting(Example::label).containsOnlyElementsOf(FashionMnistReader.CLASSES);
    }

    @Test
    void textSourcesAreCleanAndBounded() {
        List<Example> poems = corpus.examples(Split.TRAIN, Source.CHINESE_POETRY);
        assertThat(poems).allSatisfy(p -> assertThat(p.text().length()).isLessThanOrEqualTo(ChinesePoetryReader.MAX_CHARS));
        assertThat(poems).extracting(Example::label).contains("tang", "song", "ci");
        List<Example> brown = corpus.examples(Split.TRAIN, Source.BROWN);
        assertThat(brown).allSatisfy(b -> {
            assertThat(b.text().length()).isLessThanOrEqualTo(BrownReader.MAX_PASSAGE);
            assertThat(b.text()).doesNotContain("/at ", "/nn", "``"); // '' stays where the corpus means inches
        });
        // The corpus leaves formulas out ("for Car speed , for"), so a few stray gaps are genuine.
        long gaps = brown.stream().filter(b -> b.text().contains(" .") || b.text().contains(" ,")).count();
        assertThat(gaps).isLessThan(brown.size() / 100);
        assertThat(brown).extracting(Example::label).contains("news", "fiction");
        assertThat(corpus.examples(Split.TRAIN, Source.TWEMOJI)).extracting(Example::text).contains("necktie");
        assertThat(corpus.examples(Split.TRAIN, Source.OPENCLIPART)).extracting(Example::label)
                .contains("animals", "food", "people");
    }

    @Test
    void reportIsValidJson() throws IOException {
        String json = Files.readString(tmp.resolve("c").resolve(CorpusReport.FILE_NAME));
        assertThat(CorpusReport.fromJson(json)).isEqualTo(report);
        assertThat(json).contains("\"fashion-mnist\"", "\"not installed\"");
    }
}
