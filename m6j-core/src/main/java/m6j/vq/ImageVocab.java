package m6j.vq;

import m6j.runtime.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * How a stage-two run writes images: the VQGAN's codebookSize codes are extra tokens appended after the text
 * vocabulary (ids textVocab .. textVocab+codebookSize-1), grid x grid of them per image, after a text prompt of
 * exactly promptLen positions ([BOS] caption <pad>... [SEP]). Stored as RUN/image-vocab.json beside a copy of
 * the VQGAN in RUN/vqgan, so a run directory alone can draw.
 */
public record ImageVocab(int codebookSize, int grid, int promptLen, String vqgan) {
    public static final String FILE = "image-vocab.json", VQGAN_DIR = "vqgan";
    public static final int DEFAULT_PROMPT_LEN = 16;

    public ImageVocab {
        if (codebookSize < 2 || grid < 1) throw new IllegalArgumentException("bad image vocabulary: codebookSize " + codebookSize + ", grid " + grid);
        if (promptLen < 3) throw new IllegalArgumentException("promptLen must be >= 3 ([BOS] at least one token [SEP])");
        if (vqgan == null || vqgan.isBlank()) vqgan = VQGAN_DIR;
    }

    public int codes() { return grid * grid; }

    /** Longest prompt in tokens. */
    public int maxPromptTokens() { return promptLen - 2; }

    /** Text positions one training sequence or one generation needs. */
    public int sequenceLength() { return promptLen + codes(); }

    /** Copies the VQGAN into runDir/vqgan and writes runDir/image-vocab.json (a new run; an existing one must agree). */
    public static ImageVocab setup(Path runDir, Path vqganDir) throws IOException {
        VqConfig c = VqConfig.read(vqganDir.resolve(VqCheckpoint.CONFIG));
        ImageVocab v = new ImageVocab(c.codebookSize(), c.grid(), DEFAULT_PROMPT_LEN, VQGAN_DIR);
        Optional<ImageVocab> have = find(runDir);
        if (have.isPresent() && !have.get().equals(v))
            throw new IllegalArgumentException(runDir + " already draws with another VQGAN (" + have.get() + "); use a new --run");
        if (!runDir.resolve(VQGAN_DIR).toAbsolutePath().normalize().equals(vqganDir.toAbsolutePath().normalize()))
            VqCheckpoint.copy(vqganDir, runDir.resolve(VQGAN_DIR));
        Files.createDirectories(runDir);
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(runDir.resolve(FILE).toFile(), v);
        return v;
    }

    /** The image vocabulary of a run directory or of a checkpoint inside one (RUN/checkpoints/step-N). */
    public static Optional<ImageVocab> find(Path runOrCheckpoint) throws IOException {
        Path f = home(runOrCheckpoint).resolve(FILE);
        if (!Files.isRegularFile(f)) return Optional.empty();
        try {
            return Optional.of(Json.MAPPER.readValue(f.toFile(), ImageVocab.class));
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException("bad " + f + ": " + e.getMessage(), e);
        }
    }

    /** Extra vocabulary entries for image codes (0 for a run that only reads and writes text). */
    public static int extraTokens(Path runOrCheckpoint) throws IOException { return find(runOrCheckpoint).map(ImageVocab::codebookSize).orElse(0); }

    /** The VQGAN directory of a run (or of a checkpoint inside one). */
    public Path vqganDir(Path runOrCheckpoint) { return home(runOrCheckpoint).resolve(vqgan); }

    /** The run directory: the path itself, or two levels up from RUN/checkpoints/step-N. */
    static Path home(Path p) {
        if (Files.isRegularFile(p.resolve(FILE))) return p;
        Path up = p.toAbsolutePath().getParent() == null ? null : p.toAbsolutePath().getParent().getParent();
        if (up != null && p.toAbsolutePath().getParent().getFileName() != null
                && p.toAbsolutePath().getParent().getFileName().toString().equals("checkpoints")) return up;
        return p;
    }
}
