package m6j.data;

/** An open-addressing set of 64-bit keys (8-16 bytes per key): record ids and dedup hashes of large sources. */
final class LongSet {
    private static final long EMPTY = 0L;
    private long[] table = new long[1024];
    private int size;
    private boolean hasZero;

    /** True when the key was not in the set. */
    boolean add(long key) {
        if (key == EMPTY) {
            if (hasZero) return false;
            hasZero = true;
            size++;
            return true;
        }
        if (2L * (size + 1) > table.length) grow();
        if (!insert(table, key)) return false;
        size++;
        return true;
    }

    boolean contains(long key) {
        if (key == EMPTY) return hasZero;
        int mask = table.length - 1;
        for (int i = mix(key) & mask; ; i = (i + 1) & mask) {
            if (table[i] == EMPTY) return false;
            if (table[i] == key) return true;
        }
    }

    int size() { return size; }

    private static boolean insert(long[] t, long key) {
        int mask = t.length - 1;
        for (int i = mix(key) & mask; ; i = (i + 1) & mask) {
            if (t[i] == EMPTY) {
                t[i] = key;
                return true;
            }
            if (t[i] == key) return false;
        }
    }

    private void grow() {
        long[] bigger = new long[table.length * 2];
        for (long k : table) if (k != EMPTY) insert(bigger, k);
        table = bigger;
    }

    private static int mix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        return (int) k;
    }

    @Override public String toString() { return "LongSet[" + size + "]"; }
}
