package m6j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netpreserve.jwarc.HttpResponse;
import org.netpreserve.jwarc.MediaType;
import org.netpreserve.jwarc.WarcCompression;
import org.netpreserve.jwarc.WarcResponse;
import org.netpreserve.jwarc.WarcWriter;

import java.awt.Color;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.nio.file.Files;

import static m6j.data.DataFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A web crawl written with jwarc's writer: pages with images and captions, the images as responses, planted exact
 * and near duplicates, boilerplate, short and foreign-script pages. Each filter's count is in the report.
 */
class WebArchiveTest {
    @TempDir Path tmp;

    private static String article(String title, List<String> sentences, String extra) {
        StringBuilder b = new StringBuilder("<html lang=\"en\"><head><title>" + title + "</title><script>var x = 1;</script></head><body>"
                + "<nav><a href=\"/\">Home</a> <a href=\"/about\">About</a><img src=\"/logo.png\" alt=\"the site logo\"></nav><h1>" + title + "</h1>");
        for (int i = 0; i < sentences.size(); i += 4) {
            b.append("<p>").append(String.join(" ", sentences.subList(i, Math.min(sentences.size(), i + 4)))).append("</p>");
        }
        return b.append(extra).append("<footer>Copyright 2024. All rights reserved.</footer></body></html>").toString();
    }

    private static void page(WarcWriter w, String url, String html) throws IOException {
        w.write(new WarcResponse.Builder(url).body(new HttpResponse.Builder(200, "OK")
                .body(MediaType.HTML_UTF8, html.getBytes(StandardCharsets.UTF_8)).build()).build());
    }

    private static void image(WarcWriter w, String url, String type, byte[] bytes) throws IOException {
        w.write(new WarcResponse.Builder(url).body(new HttpResponse.Builder(200, "OK")
                .body(MediaType.parse(type), bytes).build()).build());
    }

    @Test
    void pagesImagesFiltersAndDeduplication() throws IOException {
        Path warc = tmp.resolve("crawl/site.warc.gz");
        Files.createDirectories(warc.getParent());
        List<String> one = prose(1, 28), two = prose(2, 28);
        List<String> twoNear = new ArrayList<>(two);
        twoNear.set(5, twoNear.get(5).replace("The ", "A "));
        twoNear.set(17, twoNear.get(17).replace(".", " today."));
        String p1 = article("Cats", one, "<img src=\"/img/cat.png\" alt=\"a tabby cat asleep\">"
                + "<figure><img src=\"dog.jpg\"><figcaption>a dog on the beach</figcaption></figure><img src=\"next.png\" alt=\"Next\">");
        String p2 = article("Harbour", two, "<img src=\"https://site.test/img/tiny.png\" alt=\"a tiny icon\">"
                + "<img src=\"/img/missing.png\" alt=\"never archived\"><img src=\"/img/cat.png\" alt=\"the same cat\">"
                + "<img src=\"/img/noalt.png\">");
        String boiler = "<html lang=\"en\"><body><div>" + "<a href=\"/x\">Products and services</a> ".repeat(40)
                + "</div><p>We use cookies to improve your experience on this website.</p>"
                + "<p>Click here to accept all cookies and continue browsing.</p></body></html>";
        StringBuilder russian = new StringBuilder("<html><body>");
        for (int i = 0; i < 12; i++) russian.append("<p>Это длинный абзац текста на русском языке о городе и реке весной.</p>");
        StringBuilder chinese = new StringBuilder("<html lang=\"zh\"><body>");
        for (int i = 0; i < 12; i++) chinese.append("<p>春天的早晨，河边的小镇安静而明亮，老师和学生一起走过古老的石桥。第").append(i).append("段。</p>");
        try (WarcWriter w = new WarcWriter(FileChannel.open(warc, StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                WarcCompression.GZIP)) {
            page(w, "https://site.test/cats.html", p1);
            image(w, "https://site.test/img/cat.png", "image/png", png(40, 30, Color.RED));
            page(w, "https://site.test/harbour.html", p2);
            page(w, "https://site.test/copy-of-cats.html", p1);                     // exact duplicate
            page(w, "https://site.test/harbour-2.html", article("Harbour", twoNear, "")); // near duplicate
            page(w, "https://site.test/links.html", boiler);                          // boilerplate
            page(w, "https://site.test/hello.html", "<html><body><p>Hello there, welcome to my page.</p></body></html>");
            page(w, "https://site.test/ru.html", russian + "</body></html>");         // script
            page(w, "https://site.test/zh.html", chinese + "</body></html>");
            image(w, "https://site.test/dog.jpg", "image/jpeg", encode(solid(32, 32, Color.BLUE), "jpeg"));
            image(w, "https://site.test/img/tiny.png", "image/png", png(8, 8, Color.GREEN));
            image(w, "https://site.test/img/unreferenced.png", "image/png", png(32, 32, Color.GREEN));
            w.write(new WarcResponse.Builder("https://site.test/404.html").body(new HttpResponse.Builder(404, "Not Found")
                    .body(MediaType.HTML_UTF8, "<html><body>gone</body></html>".getBytes(StandardCharsets.UTF_8)).build()).build());
        }

        Corpus c = build(tmp.resolve("out"), tmp.resolve("crawl").toString());
        SourceStats st = c.report().sources().get("crawl");
        assertThat(st.skipped()).containsExactlyInAnyOrderEntriesOf(Map.of(
                Skip.EXACT_DUPLICATE, 1L, Skip.NEAR_DUPLICATE, 1L, Skip.BOILERPLATE, 1L, Skip.PAGE_TOO_SHORT, 1L,
                Skip.WRONG_SCRIPT, 1L, Skip.SMALL_IMAGE, 1L, Skip.IMAGE_NOT_IN_ARCHIVE, 1L, Skip.DUPLICATE_IMAGE, 1L,
                Skip.MISSING_CAPTION, 2L)); // the nav logo is not taken (it would be "image not in archive")
        List<Example> all = all(c, "crawl");
        assertThat(all).filteredOn(e -> !e.hasImage()).extracting(Example::id).containsExactlyInAnyOrder(
                "https://site.test/cats.html", "https://site.test/harbour.html", "https://site.test/zh.html");
        Example cats = all.stream().filter(e -> e.id().equals("https://site.test/cats.html")).findFirst().orElseThrow();
        assertThat(cats.text()).contains(one.get(0)).doesNotContain("All rights reserved").doesNotContain("About")
                .doesNotContain("var x");
        Example cat = byText(c, "crawl", "a tabby cat asleep");
        assertThat(rgb(cat.image(), 16, 8, 8)).containsExactly(255, 0, 0);
        Example dog = byText(c, "crawl", "a dog on the beach");
        assertThat(dog.image()).hasSize(16 * 16 * 3);
        assertThat(rgb(dog.image(), 16, 8, 8)[2]).isGreaterThan(200);
        assertThat(st.total()).isEqualTo(5);
    }
}
