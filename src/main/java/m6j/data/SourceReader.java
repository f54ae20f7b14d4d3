package m6j.data;

import java.io.IOException;

/** Reads one source into a sink; per-record problems go to {@link SourceSink#skip}, never exceptions. */
public interface SourceReader {
    Source source();

    /** A missing root calls {@link SourceSink#notInstalled()}; an IOException here is counted as a read error. */
    void read(DataRoots roots, SourceSink sink) throws IOException;

    static SourceReader of(Source s) {
        return switch (s) {
            case FASHION_MNIST -> new FashionMnistReader();
            case OPENCLIPART -> new OpenClipArtReader();
            case TWEMOJI -> new TwemojiReader();
            case BROWN -> new BrownReader();
            case FORTUNES_EN -> new FortunesReader(false);
            case FORTUNES_ZH -> new FortunesReader(true);
            case CHINESE_POETRY -> new ChinesePoetryReader();
        };
    }
}
