package m6j.data;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import m6j.runtime.Json;

import java.io.IOException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile records for the data readers: any bytes as an image file are decoded or skipped with one reason (never an
 * exception, never a decode of a declared giant); any JSON line gives a record's fields or one skip reason. Seeds
 * and found crashes in InputsFuzzTestInputs/ run in every test run; JAZZER_FUZZ=1 fuzzes.
 */
class InputsFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void imageBytesDecodeOrSkip(byte[] data) {
        ImageFiles.Decoded d = ImageFiles.decode(data, 16, 1);
        assertThat(d.rgb() == null).isNotEqualTo(d.skipReason() == null);
        if (d.rgb() != null) assertThat(d.rgb()).hasSize(16 * 16 * 3);
    }

    @FuzzTest(maxDuration = "60s")
    void jsonRecordsGiveFieldsOrASkip(FuzzedDataProvider in) {
        String line = in.consumeRemainingAsString();
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(line);
        } catch (IOException e) {
            return;                                    // BAD_JSON in the reader
        }
        if (n == null || !n.isObject()) return;
        RecordFields.Fields f = RecordFields.of(n, List.of("cat", "dog"));
        assertThat(f).isNotNull();
        if (f.skipReason() == null) assertThat(f.text()).isNotNull();
    }
}
