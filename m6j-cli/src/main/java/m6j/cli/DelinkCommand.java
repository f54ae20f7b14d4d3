package m6j.cli;

import m6j.train.Delink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "delink", mixinStandardHelpOptions = true,
        description = {"Pseudo-to-real: turn a model trained with --share-layers into one with independent layers "
                + "(each a copy of the shared one, optimizer state copied too).",
                "Then continue: ./m6j train --run OUT --resume ... (without --share-layers)."})
public final class DelinkCommand implements Callable<Integer> {
    @Mixin Common common;

    @Parameters(index = "0", paramLabel = "CKPT", description = "Checkpoint or run directory of the pseudo model.")
    Path checkpoint;

    @Option(names = "--out", required = true, description = "Run directory for the real model.")
    Path out;

    @Override public Integer call() throws Exception {
        common.init();
        Path dir = Delink.run(checkpoint, out);
        System.out.println("m6j: delinked " + checkpoint + " -> " + dir);
        return 0;
    }
}
