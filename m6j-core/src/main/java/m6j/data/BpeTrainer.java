package m6j.data;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Byte-level BPE training over a word-frequency table with incremental pair counts: each merge
 * only touches the words that contain the merged pair, and a lazy max-heap picks the next pair.
 *
 * <p>Deterministic: the most frequent pair wins; ties go to the smaller (left id, right id).
 */
final class BpeTrainer {
    private BpeTrainer() {}

    /** Count of one adjacent symbol pair plus the words it (possibly) occurs in. */
    private static final class Pair {
        long count;
        int[] words = new int[4];
        int nWords;
        boolean done;   // merged already, or banned; never merged (again)

        void addWord(int w) {
            if (nWords > 0 && words[nWords - 1] == w) return;
            if (nWords == words.length) words = Arrays.copyOf(words, nWords * 2);
            words[nWords++] = w;
        }
    }

    private record Entry(long count, long key) {}

    static Tokenizer train(Iterable<String> texts, int vocabSize, List<String> specials) {
        List<String> tokens = new ArrayList<>();
        Map<String, Integer> ids = new HashMap<>();
        for (String s : specials) {
            if (s == null || s.isEmpty()) throw new IllegalArgumentException("empty special token");
            if (ids.putIfAbsent(s, tokens.size()) != null) throw new IllegalArgumentException("duplicate special " + s);
            tokens.add(s);
        }
        int nSpecial = tokens.size();
        if (vocabSize < nSpecial + 256) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " < specials + 256 bytes = " + (nSpecial + 256));
        }
        for (int b = 0; b < 256; b++) {
            String t = ByteLevel.token(b);
            if (ids.containsKey(t)) throw new IllegalArgumentException("special token '" + t + "' collides with a byte token");
            ids.put(t, tokens.size());
            tokens.add(t);
        }

        // Word-frequency table, words in sorted order so everything downstream is reproducible.
        Map<String, long[]> freq = new HashMap<>();
        for (String text : texts) {
            PreTokenizer.split(text, (s, start, end) -> freq.computeIfAbsent(s.substring(start, end), k -> new long[1])[0]++);
        }
        String[] wordStrings = freq.keySet().toArray(new String[0]);
        Arrays.sort(wordStrings);
        int nw = wordStrings.length;
        int[][] words = new int[nw][];
        int[] lens = new int[nw];
        long[] counts = new long[nw];
        for (int w = 0; w < nw; w++) {
            byte[] b = wordStrings[w].getBytes(StandardCharsets.UTF_8);
            words[w] = new int[b.length];
            for (int i = 0; i < b.length; i++) words[w][i] = nSpecial + (b[i] & 0xFF);
            lens[w] = b.length;
            counts[w] = freq.get(wordStrings[w])[0];
        }
        freq.clear();

        Map<Long, Pair> pairs = new HashMap<>();
        for (int w = 0; w < nw; w++) {
            for (int i = 0; i + 1 < lens[w]; i++) {
                Pair p = pairs.computeIfAbsent(key(words[w][i], words[w][i + 1]), k -> new Pair());
                p.count += counts[w];
                p.addWord(w);
            }
        }
        PriorityQueue<Entry> heap = new PriorityQueue<>(Math.max(1, pairs.size()),
                (x, y) -> x.count != y.count ? Long.compare(y.count, x.count) : Long.compare(x.key, y.key));
        pairs.forEach((k, p) -> heap.add(new Entry(p.count, k)));

        List<Long> merges = new ArrayList<>();
        int[] visited = new int[nw];
        Arrays.fill(visited, -1);
        Set<Long> grown = new HashSet<>();
        while (tokens.size() < vocabSize && !heap.isEmpty()) {
            Entry top = heap.poll();
            Pair p = pairs.get(top.key);
            if (p.done || p.count <= 0) continue;
            if (p.count != top.count) { // stale: counts only ever drop while queued
                heap.add(new Entry(p.count, top.key));
                continue;
            }
            int a = (int) (top.key >>> 32), b = (int) top.key;
            String merged = tokens.get(a) + tokens.get(b);
            Integer existing = ids.get(merged);
            p.done = true;
            if (existing != null && existing < nSpecial) continue; // never produce a special token
            int c;
            if (existing != null) {
                c = existing; // same string reached by another split: reuse its id, as Hugging Face does
            } else {
                c = tokens.size();
                tokens.add(merged);
                ids.put(merged, c);
            }
            merges.add(top.key);
            int step = merges.size();
            grown.clear();
            for (int k = 0; k < p.nWords; k++) {
                int w = p.words[k];
                if (visited[w] == step) continue;
                visited[w] = step;
                lens[w] = mergeWord(words[w], lens[w], a, b, c, w, counts[w], top.key, pairs, grown);
            }
            p.words = null;
            for (long g : grown) {
                Pair q = pairs.get(g);
                if (!q.done) heap.add(new Entry(q.count, g));
            }
        }

        boolean[] special = new boolean[tokens.size()];
        Arrays.fill(special, 0, nSpecial, true);
        return new Tokenizer(tokens, special, merges.stream().mapToLong(Long::longValue).toArray());
    }

    /**
     * Merges every (a, b) in one word left to right, moving the word's frequency from the pairs it
     * destroys to the pairs it creates. Returns the new length.
     */
    private static int mergeWord(int[] s, int len, int a, int b, int c, int w, long f, long mergedKey,
                                 Map<Long, Pair> pairs, Set<Long> grown) {
        int out = 0;
        for (int i = 0; i < len; ) {
            if (i + 1 < len && s[i] == a && s[i + 1] == b) {
                if (out > 0) { // left neighbour as already rewritten, so "a b a b" is handled correctly
                    add(pairs, key(s[out - 1], a), -f, w, mergedKey, null);
                    add(pairs, key(s[out - 1], c), f, w, mergedKey, grown);
                }
                if (i + 2 < len) {
                    add(pairs, key(b, s[i + 2]), -f, w, mergedKey, null);
                    add(pairs, key(c, s[i + 2]), f, w, mergedKey, grown);
                }
                s[out++] = c;
                i += 2;
            } else {
                s[out++] = s[i++];
            }
        }
        return out;
    }

    private static void add(Map<Long, Pair> pairs, long key, long delta, int w, long mergedKey, Set<Long> grown) {
        if (key == mergedKey) return;
        Pair p = pairs.computeIfAbsent(key, k -> new Pair());
        p.count += delta;
        if (delta > 0 && p.words != null) {
            p.addWord(w);
            grown.add(key);
        }
    }

    private static long key(int a, int b) {
        return (long) a << 32 | b;
    }
}
