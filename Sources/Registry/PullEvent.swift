/// An element of ``RegistryClient/pullEvents(_:into:name:platform:unpack:)``: progress while
/// the pull runs, then the result.
public enum PullEvent: Sendable {
    /// A progress report.
    case progress(PullProgress)
    /// The pull finished; the last element of the sequence.
    case pulled(PulledImage)
}
