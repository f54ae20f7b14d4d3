package m6j.task;

/**
 * One training sequence over text positions: ids fed in, how many leading text positions are in the
 * bidirectional prefix, and for each position the id it must predict (-1 = no loss).
 */
public record Sequence(int[] input, int prefixText, int[] target) {
    public Sequence {
        if (input.length != target.length) throw new IllegalArgumentException("input/target length mismatch");
        if (prefixText < 1 || prefixText > input.length) throw new IllegalArgumentException("bad prefix " + prefixText);
    }
}
