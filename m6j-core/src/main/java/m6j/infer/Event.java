package m6j.infer;

import java.util.List;

/** What the engine tells a caller about one of its requests (index = the caller's choice index). */
public sealed interface Event {
    int index();

    /**
     * New text (may be empty when a token ended inside a multi-byte character). Streaming text requests only.
     * logprobs: of the tokens this text came from (empty unless asked for).
     */
    record Token(int index, String text, List<TokenLogprob> logprobs) implements Event {}

    /**
     * finish: "stop" (end of sequence) or "length" (the limit or the context). ids: the generated token ids without
     * EOS (for image codes: code indices 0..K-1); text: their decoding (empty for image codes); logprobs: one per
     * generated token when asked for, else empty.
     */
    record Done(int index, String finish, int promptTokens, int completionTokens, String text, int[] ids, List<TokenLogprob> logprobs) implements Event {}

    record Failed(int index, EngineException error) implements Event {}
}
