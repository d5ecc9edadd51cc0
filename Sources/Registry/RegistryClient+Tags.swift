import Foundation
import NIOHTTP1
import OCISpec

// Spec: distribution-spec v1.1 spec.md#listing-tags, #deleting-manifests; distribution
// docs/spec/api.md#catalog (not in the OCI spec, offered by most registries)
extension RegistryClient {
    /// Lists a repository's tags, following `Link: <…>; rel="next"` pagination.
    /// - Parameters:
    ///   - repository: the repository (its tag and digest are ignored).
    ///   - pageSize: tags per request (`n`); the registry's default when nil.
    /// - Returns: the tags, in the registry's order.
    /// - Throws: ``RegistryError`` `notFound` for an unknown repository, `tooLarge` for a
    ///   page over ``RegistryConfiguration/maxManifestSize``, `protocolError` for a
    ///   malformed answer or more than 10,000 pages.
    public func tags(of repository: Reference, pageSize: Int? = nil) async throws -> [String] {
        let url = endpoint(repository).url("\(repository.path)/tags/list") + (pageSize.map { "?n=\($0)" } ?? "")
        return try await paginate(
            url, scope: Self.pullScope(repository), subject: "tags of \(repository.repository)", expecting: "tag list"
        ) { (page: TagList) in page.tags ?? [] }
    }

    /// Lists the repositories of a registry (`/v2/_catalog`), following `Link`
    /// pagination. Registries may restrict the catalog to some users, or not offer it.
    /// - Parameters:
    ///   - host: the registry host (`127.0.0.1:5000`, or a reference's `registryHost`).
    ///   - pageSize: repositories per request (`n`); the registry's default when nil.
    /// - Returns: the repository names, in the registry's order.
    /// - Throws: ``RegistryError`` `unauthorized`/`denied` when the catalog is refused,
    ///   `notFound` when the registry has none, `protocolError` for a malformed answer.
    public func catalog(of host: String, pageSize: Int? = nil) async throws -> [String] {
        let url = endpoint(host: host).url("_catalog") + (pageSize.map { "?n=\($0)" } ?? "")
        return try await paginate(url, scope: "registry:catalog:*", subject: "catalog of \(host)", expecting: "catalog") {
            (page: Catalog) in page.repositories ?? []
        }
    }

    /// GETs `url` and each `Link: <…>; rel="next"` page after it (same origin only, at
    /// most 10,000 pages), decoding each page and concatenating what `items` takes from it.
    func paginate<Page: Decodable, Item>(
        _ firstURL: String, scope: String, subject: String, expecting: String, items: (Page) -> [Item]
    ) async throws -> [Item] {
        var url = firstURL
        var all: [Item] = []
        for _ in 0..<10_000 {
            let response = try await send(RegistryRequest(
                .GET, url, scopes: [scope], subject: subject, timeout: configuration.requestTimeout))
            guard response.status == .ok else { throw await failure(response, subject: subject, url: url) }
            let next = response.headers.first(name: "Link").flatMap(Self.nextLink)
            let data = try await collect(response, limit: configuration.maxManifestSize, subject: subject)
            guard let page = try? JSONDecoder().decode(Page.self, from: data) else {
                throw RegistryError(.protocolError, "\(subject): \(url) answered no \(expecting)")
            }
            all += items(page)
            guard let next, let resolved = RegistryEndpoint.resolve(next, against: url) else { return all }
            guard RegistryEndpoint.authority(of: resolved) == RegistryEndpoint.authority(of: url) else {
                throw RegistryError(.protocolError, "\(subject): pagination link leaves the registry (\(resolved))")
            }
            url = resolved
        }
        throw RegistryError(.protocolError, "\(subject): more than 10,000 pages")
    }

    /// Deletes a manifest by digest (the registry must allow deletes).
    /// - Parameter reference: the manifest's reference; it must carry a digest.
    /// - Throws: ``RegistryError`` `notFound`, `denied`/`unauthorized`, or
    ///   `invalidConfiguration` when the reference has no digest.
    public func deleteManifest(_ reference: Reference) async throws {
        guard let digest = reference.digest else {
            throw RegistryError(.invalidConfiguration, "delete \(reference): a manifest is deleted by digest, not by tag")
        }
        let url = endpoint(reference).url("\(reference.path)/manifests/\(digest)")
        let response = try await send(RegistryRequest(
            .DELETE, url, scopes: ["repository:\(reference.path):delete"], subject: "delete \(reference)",
            timeout: configuration.requestTimeout))
        guard response.status == .accepted || response.status == .ok else {
            throw await failure(response, subject: "delete \(reference)", url: url)
        }
        await Self.discard(response)
    }

    /// The target of a `Link` header's `rel="next"` entry.
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">"),
                pieces.dropFirst().contains(where: { $0.replacingOccurrences(of: "\"", with: "") == "rel=next" })
            else { continue }
            return String(target.dropFirst().dropLast())
        }
        return nil
    }

    /// The `{"name", "tags"}` answer of the tag list endpoint.
    private struct TagList: Decodable {
        var tags: [String]?
    }

    /// The `{"repositories"}` answer of the catalog endpoint.
    private struct Catalog: Decodable {
        var repositories: [String]?
    }
}
