package m6j.data;

import m6j.runtime.FileTrees;
import org.netpreserve.jwarc.HttpResponse;
import org.netpreserve.jwarc.MediaType;
import org.netpreserve.jwarc.WarcReader;
import org.netpreserve.jwarc.WarcRecord;
import org.netpreserve.jwarc.WarcResponse;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Web archives (WARC, WARC.gz; read with jwarc). Each archive is read twice, as a stream: the first pass turns
 * every HTML response (status 200) into page text, kept if it passes the page filters of {@link WebPage} and is
 * neither an exact nor a near duplicate ({@link NearDuplicates}) of a page kept before, and notes the images the
 * pages refer to with their captions; the second pass decodes those images from the archive's own responses
 * and adds (image, caption) records. Every filter's count is a skip reason in the report.
 */
final class WebArchiveReader implements SourceReader {
    static final long MAX_BODY_BYTES = 16L << 20;
    /** An image whose shorter declared side is below this is skipped as too small (icons, spacers, trackers). */
    static final int MIN_IMAGE_SIDE = 16;

    private final Source source;
    private final List<Path> paths;

    WebArchiveReader(Source source, List<Path> paths) {
        this.source = source;
        this.paths = List.copyOf(paths);
    }

    @Override public Source source() { return source; }

    static boolean isWarc(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".warc") || n.endsWith(".warc.gz");
    }

    static List<Path> archives(Path p) throws IOException { return FileTrees.files(p, WebArchiveReader::isWarc); }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        for (Path p : paths) {
            if (!Files.exists(p)) {
                sink.notInstalled();
                return;
            }
        }
        NearDuplicates dedup = new NearDuplicates(0);
        for (Path p : paths) {
            for (Path warc : archives(p)) {
                if (sink.full()) return;
                // image URL -> caption, for the images of the pages kept in this archive (first caption wins)
                Map<String, String> wanted = new HashMap<>();
                pages(warc, dedup, wanted, sink);
                if (!wanted.isEmpty()) images(warc, wanted, sink);
                sink.skip(Skip.IMAGE_NOT_IN_ARCHIVE, wanted.size());
            }
        }
    }

    private interface Visitor {
        void response(WarcResponse r, HttpResponse http, String type) throws IOException;
    }

    private void each(Path warc, SourceSink sink, Visitor v) {
        try (WarcReader reader = new WarcReader(warc)) {
            reader.onWarning(w -> {});
            while (!sink.full()) {
                Optional<WarcRecord> rec;
                try {
                    rec = reader.next();
                } catch (IOException | RuntimeException e) {
                    sink.skip(Skip.CORRUPT_WARC); // cannot resynchronise: the rest of this archive is lost
                    return;
                }
                if (rec.isEmpty()) return;
                if (!(rec.get() instanceof WarcResponse r)) continue;
                try {
                    HttpResponse http = r.http();
                    if (http.status() != 200) continue;
                    MediaType ct = http.contentType();
                    String type = ct == null ? "" : ct.base().toString().toLowerCase(Locale.ROOT);
                    v.response(r, http, type);
                } catch (IOException | RuntimeException e) {
                    sink.skip(Skip.CORRUPT_WARC);
                }
            }
        } catch (IOException e) {
            sink.skip(Skip.CORRUPT_WARC);
        }
    }

    private static byte[] body(HttpResponse http) throws IOException {
        try (InputStream in = http.bodyDecoded().stream()) {
            byte[] b = in.readNBytes((int) MAX_BODY_BYTES + 1);
            return b.length > MAX_BODY_BYTES ? null : b;
        }
    }

    private void pages(Path warc, NearDuplicates dedup, Map<String, String> wanted, SourceSink sink) {
        each(warc, sink, (r, http, type) -> {
            if (!type.equals("text/html") && !type.equals("application/xhtml+xml")) return;
            byte[] b = body(http);
            if (b == null) {
                sink.skip(Skip.TOO_LONG);
                return;
            }
            Charset cs = StandardCharsets.UTF_8;
            try {
                String name = http.contentType().parameters().get("charset");
                if (name != null) cs = Charset.forName(name);
            } catch (RuntimeException e) {
                // unknown charset: UTF-8
            }
            String url = r.target();
            WebPage page = new WebPage(new String(b, cs), url);
            String why = page.verdict();
            if (why == null) {
                NearDuplicates.Verdict d = dedup.add(page.text);
                if (d == NearDuplicates.Verdict.EXACT) why = Skip.EXACT_DUPLICATE;
                else if (d == NearDuplicates.Verdict.NEAR) why = Skip.NEAR_DUPLICATE;
            }
            if (why != null) {
                sink.skip(why);
                return; // the images of a page that is not kept are not taken either
            }
            sink.add(url, null, page.text, "", null);
            for (WebPage.Image img : page.images) {
                if (!img.captioned()) {
                    sink.skip(Skip.MISSING_CAPTION);
                } else if (wanted.putIfAbsent(img.url(), img.caption()) != null) {
                    sink.skip(Skip.DUPLICATE_IMAGE);
                }
            }
        });
    }

    private void images(Path warc, Map<String, String> wanted, SourceSink sink) {
        each(warc, sink, (r, http, type) -> {
            String url = r.target();
            String caption = wanted.remove(url);
            if (caption == null) return;
            byte[] b = body(http);
            if (b == null) {
                sink.skip(Skip.TOO_LARGE_IMAGE);
                return;
            }
            ImageFiles.Decoded d = ImageFiles.decode(b, sink.imageSize(), MIN_IMAGE_SIDE);
            if (d.skipReason() != null) {
                sink.skip(d.skipReason());
                return;
            }
            sink.add(url + "#image", null, caption, "", d.rgb());
        });
    }
}
