package m6j.data;

import m6j.runtime.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Twemoji (emoji-datasource-twitter): emoji.json name (lowercased) + img/twitter/64/&lt;image&gt;; label = category. */
public final class TwemojiReader implements SourceReader {
    @Override public Source source() { return Source.TWEMOJI; }

    @Override public void read(DataRoots roots, SourceSink sink) throws IOException {
        Path root = roots.twemoji();
        if (!Files.isDirectory(root)) {
            sink.notInstalled();
            return;
        }
        Path json = root.resolve("emoji.json");
        if (!Files.isRegularFile(json)) {
            sink.skip(Skip.MISSING_FILE);
            return;
        }
        JsonNode all;
        try {
            all = Json.MAPPER.readTree(TextClean.decodeStrict(Files.readAllBytes(json)));
        } catch (CharacterCodingException e) {
            sink.skip(Skip.BAD_UTF8);
            return;
        } catch (IOException e) {
            sink.skip(Skip.BAD_JSON);
            return;
        }
        if (all == null || !all.isArray()) {
            sink.skip(Skip.BAD_JSON);
            return;
        }
        Path imgDir = root.resolve("img").resolve("twitter").resolve("64");
        sink.progress("emoji", all.size());
        for (JsonNode e : all) {
            if (sink.full()) break;
            String image = e.path("image").asText("");
            String name = TextClean.oneLine(e.path("name").asText("")).toLowerCase(Locale.ROOT);
            if (image.isEmpty() || !e.path("has_img_twitter").asBoolean(true)) {
                sink.tick();
                sink.skip(Skip.MISSING_IMAGE);
                continue;
            }
            ImageFiles.Decoded d = ImageFiles.decode(imgDir.resolve(image), sink.imageSize());
            if (d.skipReason() != null) {
                sink.tick();
                sink.skip(d.skipReason());
                continue;
            }
            String id = image.replaceFirst("\\.png$", "");
            sink.add(id, null, name, TextClean.oneLine(e.path("category").asText("")), d.rgb());
        }
    }
}
