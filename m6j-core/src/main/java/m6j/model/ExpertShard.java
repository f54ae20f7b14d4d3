package m6j.model;

/**
 * Which experts of every MoE layer this process holds: shard index of count, each holding experts/count
 * consecutive experts. The single-process model is shard 0 of 1.
 */
public record ExpertShard(int index, int count) {
    public static final ExpertShard ALL = new ExpertShard(0, 1);

    public ExpertShard {
        if (count < 1 || index < 0 || index >= count) throw new IllegalArgumentException("bad expert shard " + index + "/" + count);
    }

    public int local(int experts) {
        if (experts % count != 0)
            throw new IllegalArgumentException(experts + " experts cannot be split evenly over " + count + " expert-parallel ranks");
        return experts / count;
    }

    public int first(int experts) { return index * local(experts); }
}
