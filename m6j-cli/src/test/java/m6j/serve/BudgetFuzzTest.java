package m6j.serve;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import m6j.data.InputsFuzzTest;
import m6j.data.TokenizerFuzzTest;
import m6j.runtime.SafetensorsFuzzTest;
import org.junit.jupiter.api.BeforeAll;

/**
 * CI's fixed fuzzing budget: Jazzer's JUnit runner fuzzes one target per JVM, so this one target hands each input to
 * one of the parser targets (the first value chooses): request bodies, image parts, image files, JSON records, corpus
 * shards, safetensors files, tokenizer text, ids and files. `mvn test` fuzzes it for its annotation's duration in a
 * JVM of its own (the `fuzz-budget` execution of m6j-cli's surefire, JAZZER_FUZZ=1); the HTTP target, which needs the
 * trained test server, runs its committed inputs only. A crash fails the build and is written under
 * BudgetFuzzTestInputs/ to be replayed by every later run.
 */
class BudgetFuzzTest {
    static final int TARGETS = 9;

    @BeforeAll static void init() {
        SafetensorsFuzzTest.init();
        TokenizerFuzzTest.train();
    }

    @FuzzTest(maxDuration = "20s")
    void everyParser(FuzzedDataProvider in) throws Exception {
        switch (in.consumeInt(0, TARGETS - 1)) {
            case 0 -> new RequestFuzzTest().bodiesParseOrAre4xx(in.consumeRemainingAsBytes());
            case 1 -> new RequestFuzzTest().imagePartsDecodeOrAre4xx(in);
            case 2 -> new InputsFuzzTest().imageBytesDecodeOrSkip(in.consumeRemainingAsBytes());
            case 3 -> new InputsFuzzTest().jsonRecordsGiveFieldsOrASkip(in);
            case 4 -> new InputsFuzzTest().shardsReadOrAreRefused(in.consumeRemainingAsBytes());
            case 5 -> new SafetensorsFuzzTest().readsOrRefuses(in.consumeRemainingAsBytes());
            case 6 -> new TokenizerFuzzTest().anyTextRoundTrips(in);
            case 7 -> new TokenizerFuzzTest().anyIdsDecode(in);
            default -> new TokenizerFuzzTest().tokenizerFilesLoadOrAreRefused(in.consumeRemainingAsBytes());
        }
    }
}
