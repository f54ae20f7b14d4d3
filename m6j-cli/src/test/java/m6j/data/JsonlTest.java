package m6j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;

import static m6j.data.DataFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

/** JSON Lines: plain text, prompt/completion, chat messages with images, classification; bad lines counted. */
class JsonlTest {
    @TempDir Path tmp;

    @Test
    void everyRecordShapeAndBadLines() throws IOException {
        Path dir = tmp.resolve("my-data");
        write(dir.resolve("imgs/cat.png"), png(8, 8, Color.GREEN));
        write(dir.resolve("labels.txt"), "positive\nnegative\n");
        String redUrl = dataUrl(png(6, 6, Color.RED));
        String blueB64 = Base64.getEncoder().encodeToString(png(40, 40, Color.BLUE));
        String jpegB64 = Base64.getEncoder().encodeToString(encode(solid(16, 16, Color.BLUE), "jpeg"));
        write(dir.resolve("mixed.jsonl"), String.join("\n",
                "{\"text\": \"Plain text, nothing else.\"}",
                "{\"prompt\": \"Translate to Chinese: cat\", \"completion\": \"猫\"}",
                "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                        + " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"What is in this picture?\"},"
                        + " {\"type\": \"image_url\", \"image_url\": {\"url\": \"" + redUrl + "\"}}]},"
                        + " {\"role\": \"assistant\", \"content\": \"a red square\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"},"
                        + " {\"role\": \"user\", \"content\": \"Name a fruit.\"}, {\"role\": \"assistant\", \"content\": \"An apple.\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Is anybody there?\"}]}",
                "{\"text\": \"great product\", \"label\": \"positive\"}",
                "{\"text\": \"it broke\", \"label\": 1, \"split\": \"test\"}",
                "{\"text\": \"meh\", \"label\": \"neutral\"}",
                "{\"text\": \"a cat photo\", \"label\": \"positive\", \"image\": \"imgs/cat.png\"}",
                "{\"text\": \"a blue photo\", \"image\": \"" + blueB64 + "\"}",
                "{\"text\": \"a blue jpeg\", \"image\": \"" + jpegB64 + "\"}",
                "{\"text\": \"escapes\", \"image\": \"../../etc/x.png\"}",
                "{\"text\": \"remote\", \"image\": \"https://example.com/a.png\"}",
                "{\"text\": \"bad inline\", \"image\": \"data:image/png;base64,@@@not-base64@@@\"}",
                "{\"text\": \"gone\", \"image\": \"imgs/none.png\"}",
                "{\"text\": \"\"}",
                "{\"foo\": 1}",
                "[1, 2]",
                "not json at all",
                "{\"text\": \"unterminated",
                ""));
        write(dir.resolve("more/lines.jsonl"), "{\"text\": \"from a second file\", \"split\": \"validation\"}\n");
        Corpus c = build(tmp.resolve("out"), dir.toString());
        SourceStats st = c.report().sources().get("my-data");
        assertThat(st.skipped()).containsExactlyInAnyOrderEntriesOf(Map.of(
                Skip.MISSING_CAPTION, 1L, Skip.UNKNOWN_LABEL, 1L, Skip.PATH_ESCAPE, 1L, Skip.REMOTE_IMAGE, 1L,
                Skip.BAD_BASE64, 1L, Skip.MISSING_IMAGE, 1L, Skip.EMPTY_TEXT, 1L, Skip.UNRECOGNISED_RECORD, 2L,
                Skip.BAD_JSON, 2L));
        assertThat(st.total()).isEqualTo(10);
        assertThat(jpegB64).startsWith("/9j/");
        assertThat(byText(c, "my-data", "a blue jpeg").image()).hasSize(16 * 16 * 3);
        assertThat(st.hasImages()).isTrue();

        assertThat(byText(c, "my-data", "Plain text, nothing else.").prompt()).isEmpty();
        assertThat(byText(c, "my-data", "猫").prompt()).isEqualTo("Translate to Chinese: cat");
        Example chat = byText(c, "my-data", "a red square");
        assertThat(chat.prompt()).as("the conversation before the answer, by the chat template").isEqualTo("System: Be brief.\nWhat is in this picture?");
        assertThat(rgb(chat.image(), 16, 8, 8)).containsExactly(255, 0, 0);
        assertThat(byText(c, "my-data", "An apple.").prompt()).as("final assistant turn; the turns before it by the chat template")
                .isEqualTo("Hi\nAssistant: Hello!\nName a fruit.");
        assertThat(byText(c, "my-data", "great product").label()).isEqualTo("positive");
        Example broke = byText(c, "my-data", "it broke");
        assertThat(broke.label()).isEqualTo("negative");
        assertThat(broke.split()).isEqualTo(Split.TEST);
        assertThat(byText(c, "my-data", "a cat photo").image()).hasSize(16 * 16 * 3);
        assertThat(rgb(byText(c, "my-data", "a blue photo").image(), 16, 8, 8)).containsExactly(0, 0, 255);
        assertThat(byText(c, "my-data", "from a second file").split()).isEqualTo(Split.TEST);
        assertThat(byText(c, "my-data", "great product").id()).isEqualTo("mixed.jsonl:6");
    }

    @Test
    void aSingleFileIsASourceNamedAfterIt() throws IOException {
        write(tmp.resolve("Intents.jsonl"), "{\"text\": \"book a flight\", \"label\": \"travel\"}\n"
                + "{\"text\": \"play some jazz\", \"label\": \"music\"}\n");
        Corpus c = build(tmp.resolve("out"), tmp.resolve("Intents.jsonl").toString());
        assertThat(c.sources()).extracting(Source::id).containsExactly("intents");
        assertThat(c.sources().get(0).hasImages()).isFalse();
        assertThat(all(c, "intents")).extracting(Example::label).containsExactlyInAnyOrder("travel", "music");
    }
}
