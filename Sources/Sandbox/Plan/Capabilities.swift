import CCap
import OCISpec

/// Capability names → kernel bit masks, using libcap's name table.
enum Capabilities {
    /// The highest capability number the running kernel knows (from libcap).
    static var last: UInt32 {
        // cap_max_bits() is the number of capabilities the kernel supports.
        UInt32(Swift.max(Int(cap_max_bits()) - 1, 0))
    }

    /// Converts capability names ("CAP_SYS_ADMIN") into a mask.
    /// - Parameters:
    ///   - names: capability names as in the runtime spec.
    ///   - field: the spec field, for the error message.
    /// - Throws: ``SandboxError`` `invalidSpec` naming an unknown capability.
    static func mask(_ names: [String]?, field: String) throws(SandboxError) -> UInt64 {
        var mask: UInt64 = 0
        for name in names ?? [] {
            var value: cap_value_t = 0
            guard cap_from_name(name.lowercased(), &value) == 0, value >= 0, value < 64 else {
                throw SandboxError(.invalidSpec, "\(field): unknown capability \"\(name)\"")
            }
            // Capabilities the kernel does not know are ignored, as runc does (with a warning).
            if UInt32(value) <= last { mask |= 1 << UInt64(value) }
        }
        return mask
    }
}
