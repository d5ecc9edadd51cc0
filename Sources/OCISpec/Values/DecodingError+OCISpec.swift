extension DecodingError {
    /// A `dataCorrupted` error at the container's path that carries an ``OCISpecError``,
    /// so ``OCIJSON`` keeps its code and prefixes its message with the field path.
    static func ociDataCorrupted(in container: any SingleValueDecodingContainer, _ error: OCISpecError) -> DecodingError {
        .dataCorrupted(.init(codingPath: container.codingPath, debugDescription: error.message, underlyingError: error))
    }

    /// A `dataCorrupted` error for `key` of a keyed container, carrying an ``OCISpecError``.
    static func ociDataCorrupted<K: CodingKey>(
        forKey key: K, in container: KeyedDecodingContainer<K>, _ error: OCISpecError
    ) -> DecodingError {
        .dataCorrupted(.init(codingPath: container.codingPath + [key], debugDescription: error.message, underlyingError: error))
    }
}
