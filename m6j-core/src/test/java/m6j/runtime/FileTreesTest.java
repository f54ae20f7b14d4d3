package m6j.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The one commit of every "write into staging, rename into place" site. What a power loss would show cannot be
 * tested here; what can: the fsyncs run on this platform's files and directories, and the commit puts the staged
 * tree in place whole.
 */
class FileTreesTest {
    @TempDir Path dir;

    @Test void aStagedDirectoryIsSyncedAndRenamedIntoPlaceWhole() throws IOException {
        Path tmp = dir.resolve("step-000001.tmp"), target = dir.resolve("step-000001");
        Files.createDirectories(tmp.resolve("sub"));
        Files.writeString(tmp.resolve("a.json"), "{}");
        Files.write(tmp.resolve("sub/b.bin"), new byte[]{1, 2, 3});
        FileTrees.commit(tmp, target);
        assertThat(tmp).doesNotExist();
        assertThat(target.resolve("a.json")).hasContent("{}");
        assertThat(target.resolve("sub/b.bin")).hasBinaryContent(new byte[]{1, 2, 3});
    }

    @Test void aStagedFileReplacesTheOldOne() throws IOException {
        Path tmp = dir.resolve("corpus.json.tmp"), target = dir.resolve("corpus.json");
        Files.writeString(target, "old");
        Files.writeString(tmp, "new");
        FileTrees.commit(tmp, target);
        assertThat(tmp).doesNotExist();
        assertThat(target).hasContent("new");
    }

    @Test void fsyncWorksOnFilesAndDirectoriesAndNamesAMissingOne() throws IOException {
        Path f = Files.writeString(dir.resolve("f"), "x");
        FileTrees.fsync(f);
        FileTrees.fsyncDir(dir);
        assertThatThrownBy(() -> FileTrees.fsync(dir.resolve("none"))).isInstanceOf(IOException.class).hasMessageContaining("none");
    }

    @Test void createDirectoriesMakesEveryMissingLevelAndAcceptsAnExistingOne() throws IOException {
        Path deep = dir.resolve("run/checkpoints/step-000001.tmp");
        FileTrees.createDirectories(deep);
        assertThat(deep).isDirectory();
        FileTrees.createDirectories(deep);
        assertThat(deep).isDirectory();
    }
}
