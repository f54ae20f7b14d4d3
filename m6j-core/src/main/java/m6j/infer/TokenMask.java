package m6j.infer;

import m6j.data.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which tokens a {@link JsonGrammar} state allows next: the vocabulary's byte strings as a trie, walked with the
 * automaton, so a shared prefix is tried once and a refused byte cuts off every token below it. A token is allowed
 * when the automaton takes all its bytes and the value can still close in the tokens left after it. Built once per
 * engine; read-only afterwards.
 */
final class TokenMask {
    private final int[][] next;   // node -> child node per byte value present (pairs: byte, node)
    private final int[] token;    // node -> the token whose bytes end here, or -1
    private final int eos;
    private final int[] plain;    // regular tokens whose first byte is not '{'

    TokenMask(Tokenizer tok, int vocab) {
        this.eos = tok.id(Tokenizer.EOS);
        List<Integer> notBrace = new ArrayList<>();
        List<int[]> kids = new ArrayList<>();
        List<Integer> ends = new ArrayList<>();
        kids.add(new int[0]);
        ends.add(-1);
        for (int id = 0; id < vocab; id++) {
            byte[] b = tok.bytes(id);
            if (b == null) continue;                            // special tokens are never grammar output
            if (b[0] != '{') notBrace.add(id);
            int node = 0;
            for (byte x : b) {
                int child = child(kids.get(node), x & 0xFF);
                if (child < 0) {
                    child = kids.size();
                    kids.add(new int[0]);
                    ends.add(-1);
                    int[] k = kids.get(node), grown = Arrays.copyOf(k, k.length + 2);
                    grown[k.length] = x & 0xFF;
                    grown[k.length + 1] = child;
                    kids.set(node, grown);
                }
                node = child;
            }
            ends.set(node, id);
        }
        this.next = kids.toArray(new int[0][]);
        this.token = ends.stream().mapToInt(Integer::intValue).toArray();
        this.plain = notBrace.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Marks every regular token that does not open with '{' (text that is not a tool call). */
    void notOpeningJson(boolean[] allowed) { for (int t : plain) allowed[t] = true; }

    private static int child(int[] k, int b) {
        for (int i = 0; i < k.length; i += 2) if (k[i] == b) return k[i + 1];
        return -1;
    }

    /**
     * Marks in allowed (cleared by the caller) the tokens s allows when `left` tokens may follow this one; EOS when s
     * is complete. Returns how many.
     */
    int allowed(JsonGrammar.Stack s, int left, boolean[] allowed) {
        int n = 0;
        if (JsonGrammar.accepting(s)) { allowed[eos] = true; n++; }
        return n + walk(0, s, left, allowed);
    }

    private int walk(int node, JsonGrammar.Stack s, int left, boolean[] allowed) {
        int n = 0;
        int[] k = next[node];
        for (int i = 0; i < k.length; i += 2) {
            JsonGrammar.Stack t = JsonGrammar.feed(s, k[i]);
            if (t == null) continue;
            int c = k[i + 1];
            if (token[c] >= 0 && JsonGrammar.minRemaining(t) <= left) { allowed[token[c]] = true; n++; }
            n += walk(c, t, left, allowed);
        }
        return n;
    }
}
