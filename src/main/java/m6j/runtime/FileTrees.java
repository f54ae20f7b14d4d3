package m6j.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Directory trees on disk, and the one way m6j puts a written file or directory in place: everything written is
 * forced to the device, then renamed atomically, then the parent directory is forced, so after a power loss the
 * target is either the old one or the complete new one, never a renamed directory of zero-length files.
 */
public final class FileTrees {
    private FileTrees() {}

    /** A file given itself, or the regular files anywhere under a folder that match, sorted: a dataset's files. */
    public static List<Path> files(Path root, Predicate<Path> matches) throws IOException {
        if (Files.isRegularFile(root)) return List.of(root);
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> matches.test(p) && Files.isRegularFile(p)).sorted().toList();
        }
    }

    /** Forces a file's data and metadata to the device. */
    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Forces a directory's entries (a rename into it) to the device; a no-op where directories cannot be opened. */
    public static void fsyncDir(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("win")) throw e;
        }
    }

    /** Moves a written file over target: tmp forced, renamed atomically, the directory forced. */
    public static void replace(Path tmp, Path target) throws IOException {
        fsync(tmp);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        fsyncDir(target.toAbsolutePath().getParent());
    }

    /** Moves a written directory to target (replacing it): every file in it and it forced, renamed, the parent forced. */
    public static void commitDir(Path staging, Path target) throws IOException {
        try (Stream<Path> s = Files.walk(staging)) {
            for (Path p : s.toList()) if (Files.isRegularFile(p)) fsync(p); else fsyncDir(p);
        }
        delete(target);
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDir(target.toAbsolutePath().getParent());
    }

    /** Deletes p and everything under it; nothing when p does not exist. */
    public static void delete(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
