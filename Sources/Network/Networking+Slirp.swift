import Foundation
import Glibc

extension Networking {
    /// Where slirp4netns API sockets and logs are kept (`<id>.sock`, `<id>.log`).
    var slirpDirectory: String { runRoot + "/slirp" }

    /// Starts what needs the container's process, between creating and starting the
    /// container: in ``NetworkMode/slirp4netns(_:)`` mode, slirp4netns against `pid`
    /// (it joins the container's user and network namespaces, creates and configures
    /// tap0), then the published ports through its API socket. Rootless podman does
    /// the same: a namespace of a user namespace can only be set up from inside it, and
    /// that user namespace exists only once the container does. Nothing to do in the
    /// other modes.
    ///
    /// Root calls it after create and before start. A non-root caller's slirp4netns may
    /// only join a dumpable process, which the Sandbox's init is not until it runs the
    /// container's program; so such a caller passes the container's network namespace
    /// as a descriptor (`networkNamespace`, what the Sandbox's
    /// `CreateOptions.networkNamespaceHandler` receives during create). Without one it
    /// connects right after start (the container's network comes up moments later), and
    /// before that gets an error saying so.
    /// - Parameters:
    ///   - containerID: the attached container.
    ///   - pid: the container's init process (`Container.pid` after create).
    ///   - networkNamespace: an fd of the container's network namespace, or nil to use
    ///     /proc/`pid`/ns. Only read during the call.
    /// - Returns: the attachment, with slirp4netns's pid and start time recorded.
    /// - Throws: `notFound` when the container is not attached, its process is gone or
    ///   slirp4netns is not installed; `alreadyExists` when it is connected already;
    ///   `portInUse` naming a host port slirp4netns cannot bind; `system` when
    ///   slirp4netns fails (with its messages). slirp4netns is stopped when it throws;
    ///   the attachment stays until ``detach(containerID:)``.
    @discardableResult
    public func connect(containerID: String, pid: Int32, networkNamespace: Int32? = nil) async throws(NetworkError) -> NetworkAttachment {
        try await blocking { [self] () throws(NetworkError) -> NetworkAttachment in
            try Names.check(containerID, what: "container id", max: 100)
            guard pid > 0 else { throw NetworkError(.invalidArgument, "container \"\(containerID)\": pid \(pid) is not a process") }
            return try store.locked { () throws(NetworkError) -> NetworkAttachment in
                guard var attachment = try store.attachment(containerID) else {
                    throw NetworkError(.notFound, "container \"\(containerID)\" is not attached")
                }
                guard case .slirp4netns(let options) = attachment.mode else { return attachment }
                if let running = attachment.slirp?.pid {
                    throw NetworkError(.alreadyExists, "container \"\(containerID)\": slirp4netns runs already (pid \(running))")
                }
                let owner = "container \"\(containerID)\""
                do {
                    try FileManager.default.createDirectory(atPath: slirpDirectory, withIntermediateDirectories: true,
                                                            attributes: [.posixPermissions: 0o700])
                } catch {
                    throw NetworkError(.system, "create \(slirpDirectory): \(error)")
                }
                // Recorded before the process exists: a crash from here on leaves a record
                // (and a process whose API socket names the container) for prune to follow.
                attachment.slirp = NetworkAttachment.SlirpDetails(
                    apiSocket: "\(slirpDirectory)/\(containerID).sock", logFile: "\(slirpDirectory)/\(containerID).log",
                    containerPID: pid, pid: nil, startTime: nil)
                try store.save(attachment)
                do throws(NetworkError) {
                    let details = attachment.slirp!
                    let started = try SlirpProcess.start(options: options, containerPID: pid, networkNamespace: networkNamespace,
                                                         apiSocket: details.apiSocket, logFile: details.logFile, owner: owner)
                    attachment.slirp?.pid = started.pid
                    attachment.slirp?.startTime = started.startTime
                    try store.save(attachment)
                    logger.debug("started slirp4netns", metadata: ["container": "\(containerID)", "step": "slirp4netns",
                                                                  "pid": "\(started.pid)"])
                    for port in attachment.ports {
                        _ = try SlirpProcess.forward(port, to: options.containerAddress, apiSocket: details.apiSocket, owner: owner)
                    }
                    if !attachment.ports.isEmpty {
                        logger.debug("published ports", metadata: ["container": "\(containerID)", "step": "ports"])
                    }
                } catch {
                    try? stopSlirp(attachment)
                    attachment.slirp = nil
                    try? store.save(attachment)
                    throw error
                }
                logger.info("connected container", metadata: ["container": "\(containerID)", "slirp4netns": "\(attachment.slirp!.pid!)"])
                return attachment
            }
        }
    }

    /// Stops an attachment's slirp4netns (when it still runs) and removes its socket and log.
    func stopSlirp(_ attachment: NetworkAttachment) throws(NetworkError) {
        guard let details = attachment.slirp else { return }
        if let pid = details.pid {
            try SlirpProcess.stop(pid: pid, startTime: details.startTime)
        } else {
            // Killed between recording and starting it: find it by its socket, if it ever ran.
            for process in SlirpProcess.processes(withSocketIn: slirpDirectory) where process.apiSocket == details.apiSocket {
                try SlirpProcess.stop(pid: process.pid, startTime: process.startTime)
            }
        }
        try store.remove(details.apiSocket)
        try store.remove(details.logFile)
    }

    /// Prune's part for slirp4netns: stops processes serving containers without an
    /// attachment (their API socket names them) and removes their sockets and logs.
    /// - Returns: the pids stopped.
    func pruneSlirp(keeping keptIDs: Set<String>) throws(NetworkError) -> [Int32] {
        func owner(_ file: String) -> String? {
            for suffix in [".sock", ".log"] where file.hasSuffix(suffix) { return String(file.dropLast(suffix.count)) }
            return nil
        }
        var stopped: [Int32] = []
        for process in SlirpProcess.processes(withSocketIn: slirpDirectory) {
            let file = (process.apiSocket as NSString).lastPathComponent
            guard let id = owner(file), !keptIDs.contains(id) else { continue }
            if try SlirpProcess.stop(pid: process.pid, startTime: process.startTime) { stopped.append(process.pid) }
        }
        for file in (try? FileManager.default.contentsOfDirectory(atPath: slirpDirectory)) ?? [] {
            guard let id = owner(file), !keptIDs.contains(id) else { continue }
            try store.remove(slirpDirectory + "/" + file)
        }
        return stopped
    }
}
