import Foundation

/// Reads byte ranges of an open file; used from Dispatch workers, one read at a time.
final class FileChunkReader: @unchecked Sendable {
    // FileHandle is not Sendable; the push loop issues one read at a time.
    private let handle: FileHandle

    init(handle: FileHandle) { self.handle = handle }

    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(at offset: Int64, count: Int) throws -> Data {
        try handle.seek(toOffset: UInt64(offset))
        var data = Data()
        while data.count < count {
            guard let chunk = try handle.read(upToCount: count - data.count), !chunk.isEmpty else { break }
            data.append(chunk)
        }
        return data
    }
}
