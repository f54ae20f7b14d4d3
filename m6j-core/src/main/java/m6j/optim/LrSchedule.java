package m6j.optim;

/** Linear warmup to peak, then cosine decay to min at the last step. */
public record LrSchedule(double peak, double min, int warmup, int total) {
    public LrSchedule {
        if (peak <= 0 || min < 0 || min > peak) throw new IllegalArgumentException("need 0 <= min <= peak, peak > 0");
        if (warmup < 0 || total < 1) throw new IllegalArgumentException("warmup >= 0 and total >= 1 required");
    }

    public double at(int step) {       // step counts from 0
        if (step < warmup) return peak * (step + 1) / warmup;
        double t = total <= warmup ? 1 : Math.min(1.0, (double) (step - warmup) / (total - warmup));
        return min + 0.5 * (peak - min) * (1 + Math.cos(Math.PI * t));
    }
}
