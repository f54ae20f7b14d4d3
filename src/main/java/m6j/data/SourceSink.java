package m6j.data;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Collects one source's records and skip counts for {@link CorpusBuilder}; applies the per-source cap. */
public final class SourceSink implements AutoCloseable {
    /** A record before the split is settled; fixedSplit null means "split by id hash". */
    record Pending(String id, Split fixedSplit, String text, String label, byte[] image) {}

    private final Source source;
    private final int imageSize;
    private final int maxTotal;
    private final int maxTest;
    private final int maxTrain;
    private final boolean showProgress;
    private final List<Pending> records = new ArrayList<>();
    private final Set<String> ids = new HashSet<>();
    private final Map<String, Long> skipped = new TreeMap<>();
    private boolean installed = true;
    private int fixedTest;
    private ProgressBar bar;

    SourceSink(Source source, int imageSize, int maxPerSource, double testFraction, boolean showProgress) {
        this.source = source;
        this.imageSize = imageSize;
        this.maxTotal = maxPerSource == 0 ? Integer.MAX_VALUE : maxPerSource;
        // For file-split sources the cap is shared out like the hash split would: ~testFraction goes to TEST.
        this.maxTest = maxPerSource == 0 ? Integer.MAX_VALUE
                : (testFraction > 0 ? Math.max(1, (int) Math.round(maxPerSource * testFraction)) : 0);
        this.maxTrain = maxPerSource == 0 ? Integer.MAX_VALUE : Math.max(0, maxPerSource - maxTest);
        this.showProgress = showProgress;
    }

    public Source source() { return source; }

    public int imageSize() { return imageSize; }

    public void notInstalled() {
        installed = false;
        skipped.put(Skip.NOT_INSTALLED, 0L);
    }

    /** True when no more records of that split (null: hash-split) are wanted; readers stop early on it. */
    public boolean full(Split fixedSplit) {
        if (fixedSplit == Split.TEST) return fixedTest >= maxTest;
        if (fixedSplit == Split.TRAIN) return records.size() - fixedTest >= maxTrain;
        return records.size() >= maxTotal;
    }

    public boolean full() { return full(null); }

    /** Adds a record after cleaning-independent checks: empty text, duplicate id, image shape, cap. */
    public void add(String id, Split fixedSplit, String text, String label, byte[] image) {
        tick();
        if (full(fixedSplit)) return;
        if (text == null || text.isBlank()) {
            skip(Skip.EMPTY_TEXT);
            return;
        }
        if (!ids.add(id)) {
            skip(Skip.DUPLICATE_ID);
            return;
        }
        if (image != null && image.length != imageSize * imageSize * 3) {
            throw new IllegalArgumentException(source.id() + "/" + id + ": image has " + image.length + " bytes");
        }
        if (fixedSplit == Split.TEST) fixedTest++;
        records.add(new Pending(id, fixedSplit, text, label == null ? "" : label, image));
    }

    public void skip(String reason) { skip(reason, 1); }

    public void skip(String reason, long n) {
        skipped.merge(reason, n, Long::sum);
    }

    /** Starts a progress bar over n units (files or records); ticks come from {@link #tick()} and {@link #add}. */
    public void progress(String task, long n) {
        if (bar != null) bar.close();
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(source.id() + " " + task).setInitialMax(n)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500);
        if (!showProgress) b.setConsumer(new DelegatingProgressBarConsumer(s -> {}));
        bar = b.build();
    }

    public void tick() {
        if (bar != null) bar.step();
    }

    List<Pending> records() { return records; }

    Map<String, Long> skipped() { return skipped; }

    boolean installed() { return installed; }

    @Override public void close() {
        if (bar != null) bar.close();
        bar = null;
    }
}
