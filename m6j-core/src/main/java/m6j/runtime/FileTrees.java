package m6j.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** Directory trees on disk, and the one way a file or directory is put in place durably ({@link #commit}). */
public final class FileTrees {
    /** Windows cannot open a directory as a file; it makes renames durable without a directory fsync. */
    private static final boolean DIR_FSYNC = !System.getProperty("os.name", "").startsWith("Windows");

    private FileTrees() {}

    /** A file given itself, or the regular files anywhere under a folder that match, sorted: a dataset's files. */
    public static List<Path> files(Path root, Predicate<Path> matches) throws IOException {
        if (Files.isRegularFile(root)) return List.of(root);
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> matches.test(p) && Files.isRegularFile(p)).sorted().toList();
        }
    }

    /** Deletes p and everything under it; nothing when p does not exist. */
    public static void delete(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    /**
     * Files.createDirectories, each directory it creates made durable in its parent, so a folder made for a
     * commit (a run's checkpoints/) is still there after a power loss.
     */
    public static void createDirectories(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath();
        if (Files.isDirectory(abs)) return;
        createDirectories(abs.getParent());
        try {
            Files.createDirectory(abs);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(abs)) throw e;              // another process made it first: theirs to sync
            return;
        }
        fsyncDir(abs.getParent());
    }

    /** A file's data and metadata on disk (not just in the page cache). */
    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {      // Windows flushes writable handles only
            ch.force(true);
        }
    }

    /** A directory's entries on disk: what makes a create or rename inside it survive a power loss. */
    public static void fsyncDir(Path dir) throws IOException {
        if (!DIR_FSYNC) return;
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /**
     * Puts staging (a file, or a directory and everything under it) in place as target: every file and directory
     * of it fsynced, then one atomic rename, then the parent fsynced. After a power loss target is either the
     * old one (or absent) or the new one whole, never a renamed directory of zero-length files. An existing
     * target file is replaced; an existing target directory must be deleted first (a rename cannot replace it).
     */
    public static void commit(Path staging, Path target) throws IOException {
        syncTree(staging);
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDir(target.toAbsolutePath().getParent());
    }

    /** Files before the directories that hold them, deepest first. */
    private static void syncTree(Path root) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : all) {
            if (Files.isDirectory(p)) fsyncDir(p);
            else if (Files.isRegularFile(p)) fsync(p);
        }
    }
}
