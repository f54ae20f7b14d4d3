package m6j.train;

import java.util.Locale;

/**
 * M6's pretraining tasks. Each turns one example into (input ids, bidirectional prefix length, targets):
 * ITT   image -> caption;  MTT  image + corrupted caption -> caption;
 * DENOISE corrupted text -> the masked spans (text-to-text transfer);  LM  text prefix -> continuation.
 */
public enum Objective {
    ITT(true), MTT(true), DENOISE(false), LM(false);

    public final boolean needsImage;

    Objective(boolean needsImage) { this.needsImage = needsImage; }

    public String id() { return name().toLowerCase(Locale.ROOT); }

    public static Objective parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown objective '" + s + "' (itt, mtt, denoise, lm)");
        }
    }
}
