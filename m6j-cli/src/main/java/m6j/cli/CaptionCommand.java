package m6j.cli;

import m6j.checkpoint.Checkpoint;
import m6j.infer.Captioner;
import m6j.infer.Engine;
import m6j.infer.Sampling;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "caption", mixinStandardHelpOptions = true, description = "Describe images in words (image-to-text).")
public final class CaptionCommand implements Callable<Integer> {
    @Mixin Common common;
    @Mixin SamplingOptions sampling;

    @Mixin ModelOption model;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "PNG/JPEG/GIF/BMP files.")
    List<Path> images;

    @Override public Integer call() throws Exception {
        Sampling s = sampling.sampling();
        common.init();
        Checkpoint.Loaded l = Checkpoint.load(model.model);
        try (Engine e = Engine.local(l.model(), l.tokenizer())) {
            Captioner c = new Captioner(e);
            List<byte[]> px = new ArrayList<>();
            for (Path p : images) px.add(c.load(p));
            List<String> caps = c.caption(px, s);
            for (int i = 0; i < images.size(); i++) System.out.println(images.get(i) + "\t" + caps.get(i));
        }
        return 0;
    }
}
