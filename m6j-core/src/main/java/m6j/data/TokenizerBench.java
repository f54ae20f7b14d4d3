package m6j.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer benchmark (m6j bench tokenizer): trains on the given text files, 90% of each file for training
 * and the last 10% held out, then reports training time, encode/decode speed and compression.
 */
public final class TokenizerBench {
    private TokenizerBench() {}

    public static void run(int vocab, Path out, List<Path> files) throws IOException {
        List<String> train = new ArrayList<>(), heldEn = new ArrayList<>(), heldZh = new ArrayList<>();
        long trainBytes = 0;
        for (Path file : files) {
            String s = Files.readString(file);
            int cut = s.offsetByCodePoints(0, (int) (s.codePointCount(0, s.length()) * 0.9));
            train.add(s.substring(0, cut));
            trainBytes += s.substring(0, cut).getBytes(StandardCharsets.UTF_8).length;
            long han = s.codePoints().filter(PreTokenizer::isIsolated).count();
            (han * 4 > s.length() ? heldZh : heldEn).add(s.substring(cut));
        }
        long t0 = System.nanoTime();
        Tokenizer tok = Tokenizer.train(train, vocab, Tokenizer.defaultSpecials(100));
        double trainS = (System.nanoTime() - t0) / 1e9;
        tok.save(out);
        System.out.printf("train: %.1f MB, vocab %d, %.2f s%n", trainBytes / 1e6, tok.vocabSize(), trainS);

        String all = String.join("\n", train);
        double mb = all.getBytes(StandardCharsets.UTF_8).length / 1e6;
        for (String pass : List.of("cold", "warm", "warm")) {
            Tokenizer t = pass.equals("cold") ? Tokenizer.load(out) : tok;
            long e0 = System.nanoTime();
            int[] ids = t.encode(all);
            double es = (System.nanoTime() - e0) / 1e9;
            long d0 = System.nanoTime();
            String back = t.decode(ids);
            double ds = (System.nanoTime() - d0) / 1e9;
            System.out.printf("encode (%s cache): %.1f MB/s, decode %.1f MB/s, %d tokens, round trip %s%n",
                    pass, mb / es, mb / ds, ids.length, back.equals(all));
        }
        report(tok, "held-out English", String.join("\n", heldEn));
        report(tok, "held-out Chinese", String.join("\n", heldZh));
    }

    private static void report(Tokenizer tok, String name, String text) {
        if (text.isEmpty()) {
            System.out.println(name + ": none in these files");
            return;
        }
        int[] ids = tok.encode(text);
        long bytes = text.getBytes(StandardCharsets.UTF_8).length;
        long han = text.codePoints().filter(c -> c >= 0x4E00 && c <= 0x9FFF).count();
        long hanTokens = 0, hanSingle = 0; // Han chars are isolated pre-tokens, so encode them one by one
        for (int c : text.codePoints().filter(c -> c >= 0x4E00 && c <= 0x9FFF).toArray()) {
            int n = tok.encode(Character.toString(c)).length;
            hanTokens += n;
            if (n == 1) hanSingle++;
        }
        long words = text.split("\\s+").length;
        System.out.printf("%s: %.2f MB, %.2f bytes/token, %.2f tokens/word, Han chars %d, %.3f tokens/Han char,"
                        + " %.1f%% single-token, %.2f chars/token, round trip %s%n",
                name, bytes / 1e6, (double) bytes / ids.length, (double) ids.length / words, han,
                han == 0 ? 0 : (double) hanTokens / han, han == 0 ? 0 : 100.0 * hanSingle / han,
                (double) text.length() / ids.length, tok.decode(ids).equals(text));
    }
}
