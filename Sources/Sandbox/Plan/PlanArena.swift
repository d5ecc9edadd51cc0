import Glibc
import SystemPackage

/// Memory for one compiled plan: strings, arrays and structs the child reads.
///
/// The child runs with CLONE_VM and reads this memory until it calls execve, possibly
/// long after `create` returned and even after the creating process exited (the CLI), so
/// it lives in its own anonymous mapping that no allocator will reuse or unmap. It is
/// unmapped only when the child has exec'd or died (``release()``).
final class PlanArena: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0

    /// Maps an arena of `capacity` bytes.
    init(capacity: Int) throws(Errno) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = (capacity + page - 1) / page * page
        guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              mapped != MAP_FAILED
        else { throw Errno(rawValue: Glibc.errno) }
        base = mapped
        self.capacity = size
    }

    /// Copies `count` values into the arena, aligned for `T`.
    func copy<T>(_ values: some Collection<T>) -> UnsafeMutablePointer<T> {
        let pointer = allocate(T.self, count: Swift.max(values.count, 1))
        var i = 0
        for value in values {
            (pointer + i).initialize(to: value)
            i += 1
        }
        return pointer
    }

    /// Copies one value into the arena.
    func copy<T>(_ value: T) -> UnsafeMutablePointer<T> {
        let pointer = allocate(T.self, count: 1)
        pointer.initialize(to: value)
        return pointer
    }

    /// Copies a string as a NUL-terminated C string.
    func string(_ string: String) -> UnsafePointer<CChar> {
        let utf8 = Array(string.utf8CString)
        return UnsafePointer(copy(utf8))
    }

    /// Copies strings as a NULL-terminated array of C strings (argv/envp style).
    func stringArray(_ strings: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let pointers: [UnsafePointer<CChar>?] = strings.map { self.string($0) } + [nil]
        return UnsafePointer(copy(pointers))
    }

    /// `count` bytes of untouched (zero) memory, aligned to 16, e.g. a stack.
    func reserve(_ count: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(allocate(SIMD16<UInt8>.self, count: (count + 15) / 16))
    }

    /// Raw bytes, aligned to 8.
    func bytes(_ bytes: [UInt8]) -> UnsafeRawPointer {
        UnsafeRawPointer(copy(bytes))
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let alignment = Swift.max(MemoryLayout<T>.alignment, 8)
        let start = (used + alignment - 1) / alignment * alignment
        let size = MemoryLayout<T>.stride * count
        precondition(start + size <= capacity, "plan arena sized too small: a bug in PlanBuilder's estimate")
        used = start + size
        return (base + start).bindMemory(to: T.self, capacity: count)
    }

    /// Unmaps the arena. Call only once the child can no longer read it.
    func release() {
        munmap(base, capacity)
    }
}
