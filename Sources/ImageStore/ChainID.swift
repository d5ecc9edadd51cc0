import OCIHashing
import OCISpec

// Spec: image-spec v1.1 config.md#layer-chainid
/// Chain IDs: the identity of a stack of layers, used to key snapshots so that a layer
/// unpacked on the same parents is shared by every image that has it.
public enum ChainID {
    /// `ChainID(L0) = DiffID(L0)`; `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`.
    /// - Parameter diffIDs: the uncompressed layer digests, base first.
    /// - Returns: one chain ID per layer, base first.
    public static func chain(_ diffIDs: [Digest]) -> [Digest] {
        var result: [Digest] = []
        result.reserveCapacity(diffIDs.count)
        for diffID in diffIDs {
            if let parent = result.last {
                result.append(Digest.sha256(of: Array("\(parent) \(diffID)".utf8)))
            } else {
                result.append(diffID)
            }
        }
        return result
    }
}
