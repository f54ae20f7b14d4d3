package m6j.data;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The tokenizer under any input: any text round-trips (lone surrogates become '?', as UTF-8 encoding makes them) with
 * ids in range and no special ids, and the two merge loops agree on any byte run; any id sequence decodes (ids out of
 * range: IllegalArgumentException); any bytes as tokenizer.json load or are refused with an IOException. Seeds in
 * TokenizerFuzzTestInputs/ run in every test run; JAZZER_FUZZ=1 fuzzes (docs/BENCHMARKS.md, "Fuzzing").
 */
public class TokenizerFuzzTest {
    static Tokenizer tok;
    static final int[] BYTE_IDS = new int[256];       // byte -> its one-byte token

    @BeforeAll public static void train() {
        tok = Tokenizer.train(TokenizerTest.syntheticCorpus(new Random(42), 200), 500, Tokenizer.defaultSpecials(3));
        for (int id = 0; id < tok.vocabSize(); id++) {
            if (!tok.isSpecial(id) && tok.bytes(id).length == 1) BYTE_IDS[tok.bytes(id)[0] & 0xFF] = id;
        }
    }

    @FuzzTest(maxDuration = "60s")
    public void anyTextRoundTrips(FuzzedDataProvider in) {
        String s = in.consumeRemainingAsString();
        int[] ids = tok.encode(s);
        for (int id : ids) {
            assertThat(id).isBetween(0, tok.vocabSize() - 1);
            assertThat(tok.isSpecial(id)).as("special id %d from plain text", id).isFalse();
        }
        assertThat(tok.decode(ids)).isEqualTo(new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
        byte[] raw = s.getBytes(StandardCharsets.UTF_8);
        int[] sym = new int[Math.min(raw.length, 4096)];
        for (int i = 0; i < sym.length; i++) sym[i] = BYTE_IDS[raw[i] & 0xFF];
        assertThat(tok.mergeWithHeap(sym.clone())).isEqualTo(tok.mergeByScan(sym.clone()));
    }

    @FuzzTest(maxDuration = "60s")
    public void anyIdsDecode(FuzzedDataProvider in) {
        int n = in.consumeInt(0, 256);
        int[] ids = new int[n];
        boolean outOfRange = false;
        for (int i = 0; i < n; i++) {
            ids[i] = in.consumeBoolean() ? in.consumeInt(0, tok.vocabSize() - 1) : in.consumeInt();
            outOfRange |= ids[i] < 0 || ids[i] >= tok.vocabSize();
        }
        boolean skip = in.consumeBoolean();
        if (outOfRange) {
            assertThatThrownBy(() -> tok.decode(ids, skip)).isInstanceOf(IllegalArgumentException.class);
        } else {
            assertThat(tok.decode(ids, skip)).isNotNull();
        }
    }

    @FuzzTest(maxDuration = "60s")
    public void tokenizerFilesLoadOrAreRefused(byte[] json) throws IOException {
        Path f = Files.createTempFile("fuzz", "tokenizer.json");
        try {
            Files.write(f, json);
            Tokenizer t;
            try {
                t = Tokenizer.load(f);
            } catch (IOException refused) {
                assertThat(refused.getMessage()).isNotBlank();
                return;
            }
            // a file that loads is a working tokenizer
            String s = "Hello, 世界 42";
            assertThat(t.decode(t.encode(s))).isEqualTo(s);
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
