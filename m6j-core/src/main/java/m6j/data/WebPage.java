package m6j.data;

import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.nodes.Node;
import org.jsoup.nodes.TextNode;
import org.jsoup.select.NodeVisitor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What a web page gives a corpus (parsed with jsoup): its main text, as lines, after boilerplate removal, and the
 * (image URL, caption) pairs of its images, the caption being the figure's figcaption, else the alt text, else the
 * title (images inside the removed navigation, header, footer and asides are not taken). Quality is judged by
 * {@link #verdict}.
 */
final class WebPage {
    /** Page filters (docs/DATA.md). */
    static final int MIN_CHARS = 200, MAX_CHARS = 100_000, MIN_LINE_WORDS = 3, MIN_CAPTION_CHARS = 3;
    static final double MIN_SCRIPT_SHARE = 0.8, MAX_LINK_DENSITY = 0.5, MIN_KEPT_SHARE = 0.3;
    private static final Pattern BOILER = Pattern.compile(
            "(?i).*(cookie|javascript|all rights reserved|privacy policy|terms of (use|service)|lorem ipsum"
                    + "|sign in|log in|subscribe|copyright ©|©\\s*\\d{4}|click here|skip to content).*");

    record Image(String url, String caption) {
        /** At least {@link #MIN_CAPTION_CHARS} characters and two words (one suffices with Chinese characters). */
        boolean captioned() {
            if (caption.length() < MIN_CAPTION_CHARS) return false;
            boolean han = caption.codePoints().anyMatch(c -> Character.UnicodeScript.of(c) == Character.UnicodeScript.HAN);
            return han || caption.split("\\s+").length >= 2;
        }
    }

    final String text;
    final List<Image> images = new ArrayList<>();
    final String lang;
    private final int rawChars, linkChars;

    WebPage(String html, String baseUri) {
        Document doc = Jsoup.parse(html, baseUri);
        lang = doc.selectFirst("html") == null ? "" : doc.selectFirst("html").attr("lang").toLowerCase(Locale.ROOT);
        doc.select("script, style, noscript, nav, header, footer, aside, form, iframe, svg, template").remove();
        // images of the page's content only: logos and icons in the removed navigation, header and footer go with them
        for (Element img : doc.select("img[src]")) {
            String url = img.absUrl("src");
            if (url.isEmpty()) continue;
            String caption = "";
            Element fig = img.closest("figure");
            if (fig != null && fig.selectFirst("figcaption") != null) caption = fig.selectFirst("figcaption").text();
            if (caption.isBlank()) caption = img.attr("alt");
            if (caption.isBlank()) caption = img.attr("title");
            images.add(new Image(url, caption.strip()));
        }
        Element body = doc.body();
        int links = 0;
        for (Element a : body.select("a")) links += a.text().length();
        linkChars = links;
        StringBuilder all = new StringBuilder();
        body.traverse(new NodeVisitor() {
            @Override public void head(Node node, int depth) {
                if (node instanceof TextNode t) all.append(t.text());
                else if (node instanceof Element e && (e.isBlock() || e.nameIs("br"))) all.append('\n');
            }

            @Override public void tail(Node node, int depth) {
                if (node instanceof Element e && e.isBlock()) all.append('\n');
            }
        });
        StringBuilder kept = new StringBuilder();
        int raw = 0;
        for (String line : all.toString().split("\n")) {
            String l = line.replaceAll("\\s+", " ").strip();
            if (l.isEmpty()) continue;
            raw += l.length();
            if (BOILER.matcher(l).matches()) continue;
            boolean cjk = l.codePoints().anyMatch(c -> Character.UnicodeScript.of(c) == Character.UnicodeScript.HAN);
            if (!cjk && l.split(" ").length < MIN_LINE_WORDS) continue;
            if (cjk && l.length() < 8) continue;
            kept.append(l).append('\n');
        }
        rawChars = raw;
        text = kept.toString().strip();
    }

    /** Null when the page text is kept, else the filter's skip reason. */
    String verdict() {
        if (lang.length() >= 2 && !lang.startsWith("en") && !lang.startsWith("zh")) return Skip.WRONG_SCRIPT;
        if (rawChars > 0 && (double) linkChars / rawChars > MAX_LINK_DENSITY) return Skip.BOILERPLATE;
        if (text.length() < MIN_CHARS) {
            return rawChars >= MIN_CHARS && text.length() < MIN_KEPT_SHARE * rawChars ? Skip.BOILERPLATE : Skip.PAGE_TOO_SHORT;
        }
        if (text.length() > MAX_CHARS) return Skip.TOO_LONG;
        if (scriptShare(text) < MIN_SCRIPT_SHARE) return Skip.WRONG_SCRIPT;
        return null;
    }

    /** Share of letters in the Latin or Han scripts (the tokenizer's English and Chinese). */
    static double scriptShare(String s) {
        long letters = 0, ok = 0;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            if (!Character.isLetter(c)) continue;
            letters++;
            Character.UnicodeScript sc = Character.UnicodeScript.of(c);
            if (sc == Character.UnicodeScript.LATIN || sc == Character.UnicodeScript.HAN) ok++;
        }
        return letters == 0 ? 0 : (double) ok / letters;
    }
}
