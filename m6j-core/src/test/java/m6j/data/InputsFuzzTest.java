package m6j.data;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import m6j.runtime.Json;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile records for the data readers: any bytes as an image file are decoded or skipped with one reason (never an
 * exception, never a decode of a declared giant); any JSON line gives a record's fields or one skip reason; any shard
 * file (its CRC made right, so the fuzzer gets past it) reads or is refused with an IOException naming it. Seeds
 * and found crashes in InputsFuzzTestInputs/ run in every test run; JAZZER_FUZZ=1 fuzzes.
 */
public class InputsFuzzTest {
    @FuzzTest(maxDuration = "60s")
    public void imageBytesDecodeOrSkip(byte[] data) {
        ImageFiles.Decoded d = ImageFiles.decode(data, 16, 1);
        assertThat(d.rgb() == null).isNotEqualTo(d.skipReason() == null);
        if (d.rgb() != null) assertThat(d.rgb()).hasSize(16 * 16 * 3);
    }

    @FuzzTest(maxDuration = "60s")
    public void jsonRecordsGiveFieldsOrASkip(FuzzedDataProvider in) {
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

    /**
     * Any bytes as a shard, with the trailing CRC-32 appended and corpus.json's entry taken from the header it
     * declares (record count, split), as a hostile corpus directory would have them: every check after the CRC is
     * reached. Read whole, or an IOException naming the file; never another exception, never an allocation of what
     * the header declares (a count of 2^31-1 records in a 40-byte file).
     */
    @FuzzTest(maxDuration = "60s")
    public void shardsReadOrAreRefused(byte[] body) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(body);
        byte[] file = ByteBuffer.allocate(body.length + 4).put(body).putInt((int) crc.getValue()).array();
        ByteBuffer h = ByteBuffer.wrap(body);
        int split = body.length >= 16 ? h.getInt(12) : 0, count = body.length >= 20 ? h.getInt(16) : 0;
        ShardInfo info = new ShardInfo("fuzz.m6c", split == 1 ? Split.TEST : Split.TRAIN, Math.max(0, count), file.length, crc.getValue());
        Path f = Files.createTempFile("fuzz", ShardFormat.EXTENSION);
        try {
            Files.write(f, file);
            List<Example> records = ShardFormat.read(f, info, 4);
            assertThat(records).hasSize(info.records());
            for (Example e : records) if (e.image() != null) assertThat(e.image()).hasSize(4 * 4 * 3);
        } catch (IOException refused) {
            assertThat(refused.getMessage()).contains(f.toString());
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
