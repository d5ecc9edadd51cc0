import Glibc
import SystemPackage

/// Memory for one compiled plan: strings, arrays and structs the child reads.
///
/// The child runs with CLONE_VM and reads this memory until it calls execve, possibly
/// long after `create` returned and even after the creating process exited (the CLI), so
/// it lives in its own anonymous mapping that no allocator will reuse or unmap. It is
/// unmapped only when the child has exec'd or died (``release()``).
final class PlanArena: @unchecked Sendable {
    /// The mappings, in order; allocation continues in the last one. Earlier ones stay
    /// mapped, so every pointer handed out stays valid until ``release()``.
    private var chunks: [(base: UnsafeMutableRawPointer, capacity: Int)] = []
    private var used = 0
    private static let chunkSize = 1024 * 1024

    init() {}

    /// Copies `count` values into the arena, aligned for `T`.
    func copy<T>(_ values: some Collection<T>) throws(SandboxError) -> UnsafeMutablePointer<T> {
        let pointer = try allocate(T.self, count: Swift.max(values.count, 1))
        var i = 0
        for value in values {
            (pointer + i).initialize(to: value)
            i += 1
        }
        return pointer
    }

    /// Copies one value into the arena.
    func copy<T>(_ value: T) throws(SandboxError) -> UnsafeMutablePointer<T> {
        let pointer = try allocate(T.self, count: 1)
        pointer.initialize(to: value)
        return pointer
    }

    /// Copies a string as a NUL-terminated C string.
    func string(_ string: String) throws(SandboxError) -> UnsafePointer<CChar> {
        let utf8 = Array(string.utf8CString)
        return UnsafePointer(try copy(utf8))
    }

    /// Copies an optional string; nil stays NULL.
    func string(orNil string: String?) throws(SandboxError) -> UnsafePointer<CChar>? {
        guard let string else { return nil }
        return try self.string(string)
    }

    /// Copies strings as a NULL-terminated array of C strings (argv/envp style).
    func stringArray(_ strings: [String]) throws(SandboxError) -> UnsafePointer<UnsafePointer<CChar>?> {
        var pointers: [UnsafePointer<CChar>?] = []
        for string in strings { pointers.append(try self.string(string)) }
        pointers.append(nil)
        return UnsafePointer(try copy(pointers))
    }

    /// `count` bytes of untouched (zero) memory, aligned to 16, e.g. a stack.
    func reserve(_ count: Int) throws(SandboxError) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(try allocate(SIMD16<UInt8>.self, count: (count + 15) / 16))
    }

    /// Raw bytes, aligned to 8.
    func bytes(_ bytes: [UInt8]) throws(SandboxError) -> UnsafeRawPointer {
        UnsafeRawPointer(try copy(bytes))
    }

    private func allocate<T>(_ type: T.Type, count: Int) throws(SandboxError) -> UnsafeMutablePointer<T> {
        let alignment = Swift.max(MemoryLayout<T>.alignment, 16)
        let size = MemoryLayout<T>.stride * count
        var start = (used + alignment - 1) / alignment * alignment
        if chunks.isEmpty || start + size > chunks[chunks.count - 1].capacity {
            // A new mapping (a plan is sized by its spec: no estimate, no overflow).
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let capacity = (Swift.max(size, Self.chunkSize) + page - 1) / page * page
            guard let mapped = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
                  mapped != MAP_FAILED
            else { throw SandboxError(.system, "plan: mapping \(capacity) bytes", errno: Errno(rawValue: Glibc.errno)) }
            chunks.append((mapped, capacity))
            start = 0
        }
        used = start + size
        return (chunks[chunks.count - 1].base + start).bindMemory(to: T.self, capacity: count)
    }

    /// Unmaps the arena. Call only once the child can no longer read it.
    func release() {
        for chunk in chunks { munmap(chunk.base, chunk.capacity) }
        chunks = []
    }
}
