package m6j.serve;

import java.util.List;

/**
 * Text-to-image for /v1/images/generations: the two-stage generator (stage two: the transformer samples
 * image codes from the prompt; stage one: the VQGAN decodes them to pixels). The server answers a clear
 * 400 when the loaded model has none.
 */
public interface ImageGenerator {
    /** The one size this generator makes, as OpenAI writes it ("256x256"). */
    String size();

    /** n PNG images for the prompt; image i uses seed + i. Runs on the scheduler thread. */
    List<byte[]> generate(String prompt, int n, long seed);
}
