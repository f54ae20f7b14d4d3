package m6j.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** Directory trees on disk. */
public final class FileTrees {
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
}
