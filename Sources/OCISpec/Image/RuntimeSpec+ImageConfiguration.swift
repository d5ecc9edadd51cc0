extension RuntimeSpec {
    /// The annotation that carries an image's `Volumes`: the paths, sorted and joined
    /// with `,` (`/data,/var/log`). A runtime spec has no volume concept; whoever mounts
    /// volumes reads this.
    public static let imageVolumesAnnotation = "dev.caisson.image.volumes"

    /// Builds the runtime spec for running an image, with Docker's semantics.
    ///
    /// - **args**: the entrypoint followed by the command. `overrideArgs` replaces the
    ///   image `Cmd` (`docker run IMAGE args…`); `overrideEntrypoint` replaces the
    ///   image `Entrypoint` and then drops the image `Cmd` (`docker run --entrypoint`).
    /// - **env**: `base`'s environment, then the image `Env`, then `extraEnv`, a later
    ///   `NAME=` replacing an earlier one in place; `PATH` is added (Docker's default)
    ///   when none of them sets it.
    /// - **cwd**: the image `WorkingDir`, made absolute; `/` when unset.
    /// - **user**: a numeric `uid` or `uid:gid` sets `process.user` directly (a lone uid
    ///   gets gid 0 until ``ImageUser/resolve(passwd:group:)`` finds its primary group).
    ///   A user or group *name* cannot be resolved without the image's `/etc/passwd`: the
    ///   raw value is kept in `process.user.username`, uid and gid stay 0, and the image
    ///   store resolves it against the rootfs later with ``ImageUser``.
    /// - **annotations**: `StopSignal` as ``ImageAnnotations/stopSignal``
    ///   (`org.opencontainers.image.stopSignal`) and `Volumes` as
    ///   ``imageVolumesAnnotation``, merged into `base`'s annotations. Labels are not copied.
    ///
    /// - Parameters:
    ///   - image: the image configuration.
    ///   - base: the spec to start from; ``secureDefault(args:)`` by default.
    ///   - overrideArgs: arguments replacing the image `Cmd`.
    ///   - overrideEntrypoint: a command replacing the image `Entrypoint`.
    ///   - extraEnv: `NAME=value` entries applied after the image's.
    /// - Returns: the spec; `root`, mounts, namespaces and the rest come from `base`.
    /// - Throws: ``OCISpecError`` with code `invalidDocument` if there is nothing to run
    ///   or the image `User` is malformed.
    public static func forImage(
        _ image: ImageConfiguration,
        base: RuntimeSpec = .secureDefault(args: []),
        overrideArgs: [String]? = nil,
        overrideEntrypoint: [String]? = nil,
        extraEnv: [String] = []
    ) throws -> RuntimeSpec {
        let config = image.config ?? ImageConfiguration.Config()
        var spec = base
        var process = spec.process ?? Process()

        let entrypoint = overrideEntrypoint ?? config.entrypoint ?? []
        let cmd = overrideArgs ?? (overrideEntrypoint == nil ? config.cmd ?? [] : [])
        let args = entrypoint + cmd
        guard !args.isEmpty else {
            throw OCISpecError(
                .invalidDocument, "image config: no command specified (no Entrypoint or Cmd, and no arguments given)")
        }
        process.args = args

        var env = Self.mergeEnvironment(process.env ?? [], config.env ?? [])
        env = Self.mergeEnvironment(env, extraEnv)
        if !env.contains(where: { $0.hasPrefix("PATH=") }) {
            env.insert(RuntimeSpec.defaultPath, at: 0)
        }
        process.env = env

        if let dir = config.workingDir, !dir.isEmpty {
            process.cwd = dir.hasPrefix("/") ? dir : "/" + dir
        } else {
            process.cwd = "/"
        }

        let user = try ImageUser(parsing: config.user ?? "")
        var processUser = process.user
        processUser.uid = user.user.number ?? 0
        processUser.gid = user.group?.number ?? 0
        processUser.username = user.hasNames ? user.description : nil
        process.user = processUser
        spec.process = process

        var annotations = spec.annotations ?? [:]
        if let signal = config.stopSignal, !signal.isEmpty {
            annotations[ImageAnnotations.stopSignal] = signal
        }
        if let volumes = config.volumes, !volumes.isEmpty {
            annotations[Self.imageVolumesAnnotation] = volumes.sorted().joined(separator: ",")
        }
        spec.annotations = annotations.isEmpty ? nil : annotations
        return spec
    }

    /// Appends `overrides` to `base`, replacing same-named entries in place.
    private static func mergeEnvironment(_ base: [String], _ overrides: [String]) -> [String] {
        var result = base
        func key(_ entry: String) -> Substring {
            entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        for entry in overrides {
            let name = key(entry)
            if let index = result.firstIndex(where: { key($0) == name }) {
                result[index] = entry
            } else {
                result.append(entry)
            }
        }
        return result
    }
}
