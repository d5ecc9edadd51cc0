import CLICommon
import Glibc
import OCISpec
import Sandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// runc's `containerState` (runc `state.go`/`list.go`): the runtime-spec state plus
/// `rootfs`, `created` and `owner`, in runc's key order. Engines parse this output, and
/// people diff it against runc's, so its shape is runc's exactly:
/// - `pid` is 0 once the container has stopped (the spec leaves it out);
/// - `created` is RFC 3339 with Go's trimmed fraction (`…T23:48:51.291751Z`);
/// - `annotations` is left out when empty;
/// - `owner` is empty in `state` and the state directory's owner's name in `list`.
struct RuncState {
    var ociVersion: String
    var id: String
    var pid: Int32
    var status: String
    var bundle: String
    var rootfs: String
    var created: String
    var annotations: [String: String]
    var owner: String

    /// The state of `container`; `owner` as runc reports it (empty for `state`).
    init(_ container: Container, owner: String = "") {
        let state = container.state()
        ociVersion = state.ociVersion
        id = state.id
        pid = state.status == .stopped ? 0 : state.pid ?? 0
        status = state.status.rawValue
        bundle = state.bundle
        rootfs = container.rootfs
        created = Self.goTime(container.created)
        annotations = state.annotations ?? [:]
        self.owner = owner
    }

    var json: GoJSON {
        var members: [(String, GoJSON)] = [
            ("ociVersion", .string(ociVersion)), ("id", .string(id)), ("pid", .int(Int64(pid))),
            ("status", .string(status)), ("bundle", .string(bundle)), ("rootfs", .string(rootfs)),
            ("created", .string(created)),
        ]
        if !annotations.isEmpty {
            // Go sorts map keys.
            members.append(("annotations", .object(annotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        members.append(("owner", .string(owner)))
        return .object(members)
    }

    /// Go's `time.RFC3339Nano` drops trailing zeros of the fraction (and the dot when
    /// nothing is left); Caisson records all nine digits.
    static func goTime(_ rfc3339: String) -> String {
        guard let dot = rfc3339.lastIndex(of: "."), let zone = rfc3339[dot...].firstIndex(where: { !$0.isNumber && $0 != "." })
        else { return rfc3339 }
        var fraction = rfc3339[rfc3339.index(after: dot)..<zone]
        while fraction.last == "0" { fraction = fraction.dropLast() }
        return rfc3339[..<dot] + (fraction.isEmpty ? "" : "." + fraction) + rfc3339[zone...]
    }

    /// runc's owner column: the name of the user owning the container's state directory
    /// (`<root>/<id>`), or `#uid` when that uid has no name.
    static func owner(stateRoot: String, id: String) -> String {
        var st = stat()
        guard stat(stateRoot + "/" + id, &st) == 0 else { return "" }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getpwuid_r(st.st_uid, &entry, &buffer, buffer.count, &result) == 0, let found = result, let name = found.pointee.pw_name {
            return String(cString: name)
        }
        return "#\(st.st_uid)"
    }
}
