package m6j.serve;

/** What the scheduler tells a request about one of its sequences (index = choice index). */
public sealed interface Event {
    int index();

    /** New text (may be empty when a token ended inside a multi-byte character). */
    record Token(int index, String text) implements Event {}

    /** finish: "stop" (end of sequence) or "length" (max_tokens or the context). */
    record Done(int index, String finish, int promptTokens, int completionTokens, String text) implements Event {}

    record Failed(int index, ApiError error) implements Event {}
}
