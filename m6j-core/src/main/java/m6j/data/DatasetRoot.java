package m6j.data;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The folder a user dataset lives in. Paths named by its metadata resolve inside it or are refused: an absolute
 * path, one that climbs out with "..", or one whose real path (symbolic links followed) lies outside the root.
 */
final class DatasetRoot {
    private static final Logger log = LoggerFactory.getLogger(DatasetRoot.class);

    /** Exactly one of path and skipReason is non-null. */
    record Resolved(Path path, String skipReason) {}

    private final Path root;
    private final Path real;
    private final String sourceId;
    private boolean warned;

    DatasetRoot(Path root, String sourceId) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        this.real = this.root.toRealPath();
        this.sourceId = sourceId;
    }

    Path path() { return root; }

    /** rel as written in the metadata, relative to baseDir (a folder inside the root). */
    Resolved resolve(Path baseDir, String rel) {
        if (rel == null || rel.isBlank()) return new Resolved(null, Skip.MISSING_FILE);
        if (rel.startsWith("/") || rel.startsWith("\\") || rel.matches("^[A-Za-z]:.*") || rel.contains("\u0000")) {
            return refuse(rel, "is absolute");
        }
        Path candidate;
        try {
            candidate = baseDir.toAbsolutePath().resolve(rel).normalize();
        } catch (RuntimeException e) {
            return new Resolved(null, Skip.MISSING_FILE);
        }
        if (!candidate.startsWith(root)) return refuse(rel, "climbs out of it");
        if (!Files.exists(candidate)) return new Resolved(null, Skip.MISSING_IMAGE);
        try {
            if (!candidate.toRealPath().startsWith(real)) return refuse(rel, "is a symbolic link out of it");
        } catch (IOException e) {
            return new Resolved(null, Skip.MISSING_IMAGE);
        }
        return new Resolved(candidate, null);
    }

    private Resolved refuse(String rel, String why) {
        if (!warned) {
            log.warn("{}: refused path '{}': it {} (dataset root {}); such records are skipped as '{}'", sourceId, rel,
                    why, root, Skip.PATH_ESCAPE);
            warned = true;
        }
        return new Resolved(null, Skip.PATH_ESCAPE);
    }
}
