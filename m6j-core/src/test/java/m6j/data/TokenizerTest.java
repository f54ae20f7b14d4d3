package m6j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TokenizerTest {
    static final String[] WORDS = ("the of and to in a is that for it as was with be by on not he this are or his "
            + "from at which but have an they you were her she there been one all we their has would when if "
            + "model expert mixture tokenizer language image text training data don't it's we're they've").split(" ");
    static final String HAN = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之"
            + "过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三"
            + "已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等"
            + "床光疑霜举望低思故乡春眠晓处闻啼鸟夜风雨花落少白山尽黄河入海流欲穷千里目更层楼";
    static final String POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。";

    static List<String> corpus;
    static Tokenizer tok;

    @BeforeAll
    static void trainSmall() {
        corpus = syntheticCorpus(new Random(42), 3000);
        tok = Tokenizer.train(corpus, 1200, Tokenizer.defaultSpecials(3));
    }

    /** English sentences, Chinese sentences and a little noise, all reproducible from the seed. */
    static List<String> syntheticCorpus(Random r, int docs) {
        List<String> out = new ArrayList<>();
        for (int d = 0; d < docs; d++) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0, n = 5 + r.nextInt(15); i < n; i++) {
                String w = WORDS[r.nextInt(WORDS.length)];
                sb.append(i == 0 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : " " + w);
            }
            sb.append(r.nextBoolean() ? ". " : ", ").append(r.nextInt(2000)).append('\n');
            for (int i = 0, n = 5 + r.nextInt(20); i < n; i++) {
                sb.append(HAN.charAt(r.nextInt(HAN.length())));
                if (r.nextInt(8) == 0) sb.append(r.nextBoolean() ? '，' : '。');
            }
            if (d % 10 == 0) sb.append(POEM);
            out.add(sb.append('\n').toString());
        }
        return out;
    }

    static void assertRoundTrip(Tokenizer t, String s) {
        assertThat(t.decode(t.encode(s))).as("round trip of %s", s).isEqualTo(s);
    }

    @Test
    void roundTripsEnglishChineseMixedEmoji() {
        for (String s : List.of("", " ", "Hello, world! It's 2024; we're testing the tokenizer's limits.",
                POEM, "M6 是一个多模态 Mixture-of-Experts 模型，参数量 100B。\n\tDone.",
                "emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇨🇳🇺🇸 math 𝔘𝔫𝔦 rare 𠀀𪚥", "  leading and trailing  \n\n ",
                "かな カナ 한국어 ｆｕｌｌｗｉｄｔｈ", "<pad><bos> not special here <extra_id_0>")) {
            assertRoundTrip(tok, s);
        }
        // Documented limit: input must be valid Unicode; a lone surrogate becomes '?'.
        assertThat(tok.decode(tok.encode("a\uD800b"))).isEqualTo("a?b");
    }

    @Test
    void roundTripsRandomValidUnicode() {
        Random r = new Random(7);
        for (int n = 0; n < 1000; n++) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0, len = r.nextInt(40); i < len; i++) {
                int kind = r.nextInt(4);
                int cp = switch (kind) {
                    case 0 -> 0x20 + r.nextInt(0x5F);                                   // ASCII
                    case 1 -> HAN.charAt(r.nextInt(HAN.length()));                      // common Han
                    case 2 -> r.nextInt(0x10000);                                       // any BMP
                    default -> 0x10000 + r.nextInt(0x100000);                           // supplementary
                };
                if (cp >= 0xD800 && cp <= 0xDFFF) cp = ' '; // surrogates are not code points of valid text
                sb.appendCodePoint(cp);
            }
            String s = sb.toString();
            assertThat(new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)).isEqualTo(s);
            assertRoundTrip(tok, s);
        }
    }

    @Test
    void longPreTokensUseHeapMergeAndRoundTrip() {
        String digits = "1234567890".repeat(2000), letters = "ab".repeat(30000);
        assertRoundTrip(tok, digits);
        assertRoundTrip(tok, letters + " " + digits);
        Random r = new Random(3);
        for (int n = 0; n < 300; n++) {
            byte[] word = WORDS[r.nextInt(WORDS.length)].repeat(1 + r.nextInt(12)).getBytes(StandardCharsets.UTF_8);
            int[] sym = new int[word.length];
            for (int i = 0; i < word.length; i++) sym[i] = tok.encode(String.valueOf((char) word[i]))[0];
            assertThat(tok.mergeWithHeap(sym.clone())).isEqualTo(tok.mergeByScan(sym.clone()));
        }
    }

    @Test
    void specialTokensHaveFixedIdsAndDecodeSkipsThem() {
        assertThat(Tokenizer.defaultSpecials(2)).containsExactly("<pad>", "<bos>", "<eos>", "<sep>", "<mask>",
                "<extra_id_0>", "<extra_id_1>");
        assertThat(tok.id(Tokenizer.PAD)).isEqualTo(0);
        assertThat(tok.id(Tokenizer.BOS)).isEqualTo(1);
        assertThat(tok.id(Tokenizer.EOS)).isEqualTo(2);
        assertThat(tok.id(Tokenizer.SEP)).isEqualTo(3);
        assertThat(tok.id(Tokenizer.MASK)).isEqualTo(4);
        assertThat(tok.id("<extra_id_2>")).isEqualTo(7);
        assertThat(tok.isSpecial(7)).isTrue();
        assertThat(tok.isSpecial(8)).isFalse();
        assertThat(tok.token(1)).isEqualTo("<bos>");
        assertThat(tok.vocabSize()).isEqualTo(1200);
        assertThatThrownBy(() -> tok.id("<nope>")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> tok.token(1200)).isInstanceOf(IllegalArgumentException.class);

        int[] body = tok.encode("Hello 世界");
        int[] ids = new int[body.length + 2];
        ids[0] = tok.id(Tokenizer.BOS);
        System.arraycopy(body, 0, ids, 1, body.length);
        ids[ids.length - 1] = tok.id(Tokenizer.EOS);
        assertThat(tok.decode(ids)).isEqualTo("Hello 世界");
        assertThat(tok.decode(ids, false)).isEqualTo("<bos>Hello 世界<eos>");

        // Special-token strings in text are just text.
        int[] plain = tok.encode("<pad> <extra_id_0>");
        assertThat(Arrays.stream(plain).noneMatch(tok::isSpecial)).isTrue();
    }

    @Test
    void chineseIsAboutOneTokenPerCharacter() {
        String text = POEM + HAN.substring(0, 60);
        int han = (int) text.codePoints().filter(c -> c >= 0x4E00 && c <= 0x9FFF).count();
        int punct = (int) text.codePoints().filter(c -> c == '，' || c == '。').count();
        assertThat(tok.encode(text)).hasSize(han + punct);
        assertThat(tok.encode(POEM)).hasSize(POEM.length());
        assertThat(tok.token(tok.encode("明")[0])).isEqualTo(ByteLevel.encode("明".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void realTextCompressesWhenFortunesArePresent() throws IOException {
        Path fortunes = Path.of("/usr/share/games/fortunes/fortunes"), tang = Path.of("/usr/share/games/fortunes/tang300");
        assumeTrue(Files.isReadable(fortunes) && Files.isReadable(tang), "fortune files not installed");
        String en = Files.readString(fortunes), zh = Files.readString(tang);
        Tokenizer t = Tokenizer.train(List.of(en, zh), 4000, Tokenizer.defaultSpecials(0));
        assertRoundTrip(t, en);
        assertRoundTrip(t, zh);
        double enBytesPerToken = (double) en.getBytes(StandardCharsets.UTF_8).length / t.encode(en).length;
        double zhTokensPerChar = (double) t.encode(POEM).length / POEM.length();
        assertThat(enBytesPerToken).isGreaterThan(3.0);
        assertThat(zhTokensPerChar).isLessThanOrEqualTo(1.0);
    }

    @Test
    void saveLoadGivesIdenticalEncodingsAndBytes(@TempDir Path dir) throws IOException {
        Path a = dir.resolve("a/tokenizer.json"), b = dir.resolve("b.json");
        tok.save(a);
        Tokenizer loaded = Tokenizer.load(a);
        loaded.save(b);
        assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));
        assertThat(loaded.vocabSize()).isEqualTo(tok.vocabSize());
        for (String s : corpus.subList(0, 200)) assertThat(loaded.encode(s)).isEqualTo(tok.encode(s));
        assertThat(loaded.id("<extra_id_1>")).isEqualTo(6);
        try (var files = Files.list(a.getParent())) { // no temp file left behind
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("tokenizer.json");
        }

        JsonNode root = new ObjectMapper().readTree(a.toFile());
        assertThat(root.at("/model/type").asText()).isEqualTo("BPE");
        assertThat(root.at("/model/vocab").size()).isEqualTo(1200);
        assertThat(root.at("/model/merges").size()).isGreaterThan(800);
        assertThat(root.at("/added_tokens/0/content").asText()).isEqualTo("<pad>");
        assertThat(root.at("/added_tokens/0/special").asBoolean()).isTrue();
        assertThat(root.at("/pre_tokenizer/pretokenizers/0/type").asText()).isEqualTo("Split");
        assertThat(root.at("/pre_tokenizer/pretokenizers/1/type").asText()).isEqualTo("ByteLevel");
        assertThat(root.at("/decoder/type").asText()).isEqualTo("ByteLevel");
    }

    @Test
    void trainingIsDeterministic(@TempDir Path dir) throws IOException {
        Tokenizer again = Tokenizer.train(syntheticCorpus(new Random(42), 3000), 1200, Tokenizer.defaultSpecials(3));
        tok.save(dir.resolve("1.json"));
        again.save(dir.resolve("2.json"));
        assertThat(Files.readAllBytes(dir.resolve("2.json"))).isEqualTo(Files.readAllBytes(dir.resolve("1.json")));
    }

    @Test
    void loadFailuresNameTheFile(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("missing.json");
        assertThatThrownBy(() -> Tokenizer.load(missing)).isInstanceOf(IOException.class)
                .hasMessageContaining(missing.toString());
        Path corrupt = Files.writeString(dir.resolve("corrupt.json"), "{\"model\": {\"type\": \"BPE\", ");
        assertThatThrownBy(() -> Tokenizer.load(corrupt)).isInstanceOf(IOException.class)
                .hasMessageContaining(corrupt.toString());
        Path other = Files.writeString(dir.resolve("wordpiece.json"), "{\"model\": {\"type\": \"WordPiece\"}}");
        assertThatThrownBy(() -> Tokenizer.load(other)).isInstanceOf(IOException.class)
                .hasMessageContaining(other.toString()).hasMessageContaining("BPE");
        Path good = dir.resolve("good.json");
        tok.save(good);
        Path truncated = Files.writeString(dir.resolve("badmerge.json"),
                Files.readString(good).replace("\"merges\" : [", "\"merges\" : [ \"nope zzz\","));
        assertThatThrownBy(() -> Tokenizer.load(truncated)).isInstanceOf(IOException.class)
                .hasMessageContaining(truncated.toString());
    }

    @Test
    void trainRejectsBadArguments() {
        assertThatThrownBy(() -> Tokenizer.train(corpus, 100, Tokenizer.defaultSpecials(0)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Tokenizer.train(corpus, 1000, List.of("<a>", "<a>")))
                .isInstanceOf(IllegalArgumentException.class);
        Tokenizer tiny = Tokenizer.train(List.of("ab ab"), 5000, List.of());
        assertThat(tiny.vocabSize()).isLessThan(5000); // corpus ran out of pairs
        assertRoundTrip(tiny, "abc 中文");
    }

    /** The hand-written scanner must split exactly like the GPT-2 regex that tokenizer.json declares. */
    @Test
    void preTokenizerMatchesDeclaredRegexes() {
        Pattern isolated = Pattern.compile(PreTokenizer.ISOLATED_REGEX);
        Pattern gpt2 = Pattern.compile(PreTokenizer.GPT2_REGEX, Pattern.UNICODE_CHARACTER_CLASS);
        String alphabet = "aZé9٣ Ⅻ'sretvmld\t\n\r  \u00a0\u2003\u3000,.!?-_$😀𝔘中文，。カ한";
        Random r = new Random(11);
        for (int n = 0; n < 2000; n++) {
            StringBuilder sb = new StringBuilder();
            int[] cps = alphabet.codePoints().toArray();
            for (int i = 0, len = r.nextInt(30); i < len; i++) sb.appendCodePoint(cps[r.nextInt(cps.length)]);
            String s = sb.toString();
            List<String> expected = new ArrayList<>();
            Matcher iso = isolated.matcher(s);
            int last = 0;
            while (true) {
                boolean found = iso.find();
                int end = found ? iso.start() : s.length();
                if (last < end) { // GPT-2 regex on the stretch between isolated characters
                    Matcher m = gpt2.matcher(s).region(last, end);
                    while (m.find()) expected.add(m.group());
                }
                if (!found) break;
                expected.add(iso.group());
                last = iso.end();
            }
            List<String> actual = new ArrayList<>();
            PreTokenizer.split(s, (t, a, b) -> actual.add(t.substring(a, b)));
            assertThat(actual).as("pre-tokens of '%s'", s).isEqualTo(expected);
            assertThat(String.join("", actual)).isEqualTo(s);
        }
    }
}
