extension RuntimeSpec {
    // Spec: config.md#mounts
    /// A mount to set up in the container, after the root filesystem.
    public struct Mount: Codable, Hashable, Sendable {
        /// Absolute path inside the container where the mount is placed.
        public var destination: String
        /// The device name, directory (for bind mounts) or a dummy for pseudo filesystems.
        public var source: String?
        /// fstab-style mount options (`ro`, `nosuid`, `rbind`, `mode=755`, ...).
        public var options: [String]?
        /// The filesystem type (`proc`, `tmpfs`, `bind`, ...).
        public var type: String?
        // Spec: config.md#posix-platform-mounts
        /// User ID mappings for an idmapped mount.
        public var uidMappings: [Linux.IDMapping]?
        /// Group ID mappings for an idmapped mount.
        public var gidMappings: [Linux.IDMapping]?

        /// Creates a mount.
        /// - Parameters:
        ///   - destination: absolute path in the container.
        ///   - type: the filesystem type.
        ///   - source: the mount source.
        ///   - options: mount options.
        ///   - uidMappings: idmapped-mount user mappings.
        ///   - gidMappings: idmapped-mount group mappings.
        public init(
            destination: String,
            type: String? = nil,
            source: String? = nil,
            options: [String]? = nil,
            uidMappings: [Linux.IDMapping]? = nil,
            gidMappings: [Linux.IDMapping]? = nil
        ) {
            self.destination = destination
            self.type = type
            self.source = source
            self.options = options
            self.uidMappings = uidMappings
            self.gidMappings = gidMappings
        }
    }
}
