import Foundation
import Testing
import TestSupport

import OCIHashing
@testable import OCISpec

/// Round-trips the documents of a real busybox image laid out by umoci and copied by skopeo.
@Suite("Image layouts written by umoci and skopeo", .enabled(if: BusyboxImageFixture.isAvailable))
struct ImageLayoutRoundTripTests {
    static func read(_ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path))
    }

    static func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ data: Data) throws -> T {
        let value = try OCIJSON.decode(type, from: data)
        let encoded = try OCIJSON.encode(value)
        let again = try OCIJSON.decode(type, from: encoded)
        #expect(again == value)
        #expect(try OCIJSON.encode(again) == encoded)
        return value
    }

    /// Checks one OCI layout end to end; returns the image config.
    static func checkLayout(_ root: String) throws -> ImageConfiguration {
        let layout = try roundTrip(ImageLayout.self, read("\(root)/\(ImageLayout.layoutFileName)"))
        #expect(layout.imageLayoutVersion == ImageLayout.currentVersion)

        let index = try roundTrip(ImageIndex.self, read("\(root)/\(ImageLayout.indexFileName)"))
        let tagged = index.manifests(named: BusyboxImageFixture.tag)
        try #require(tagged.count == 1)
        let manifestDescriptor = tagged[0]
        #expect(manifestDescriptor.mediaType == .imageManifest)

        // Every blob hashes to its file name.
        let blobs = "\(root)/blobs/sha256"
        let names = try FileManager.default.contentsOfDirectory(atPath: blobs)
        #expect(!names.isEmpty)
        for name in names {
            let digest = try Digest(parsing: "sha256:\(name)")
            try digest.verify(read("\(blobs)/\(name)"))
        }

        let manifestData = try read("\(root)/\(ImageLayout.blobPath(for: manifestDescriptor.digest))")
        try manifestDescriptor.verify(manifestData)
        guard case .manifest(let manifest) = try ManifestDocument.decode(manifestData, mediaType: manifestDescriptor.mediaType)
        else {
            Issue.record("expected a manifest")
            throw OCISpecError(.invalidDocument, "not a manifest")
        }
        #expect(try roundTrip(ImageManifest.self, manifestData) == manifest)
        #expect(manifest.config.mediaType == .imageConfig)
        #expect(manifest.layers.count == 1)
        #expect(manifest.layers[0].mediaType == .imageLayerGzip)
        for layer in manifest.layers {
            try layer.verify(read("\(root)/\(ImageLayout.blobPath(for: layer.digest))"))
        }

        let configData = try read("\(root)/\(ImageLayout.blobPath(for: manifest.config.digest))")
        try manifest.config.verify(configData)
        let config = try roundTrip(ImageConfiguration.self, configData)
        #expect(config.rootfs.diffIDs.count == manifest.layers.count)
        return config
    }

    static func checkConfig(_ config: ImageConfiguration) {
        #expect(config.os == "linux")
        #expect(config.platform.normalized == Platform(os: "linux", architecture: Platform.current.architecture))
        #expect(config.author == "caisson tests")
        #expect(config.config?.cmd == ["/bin/sh"])
        #expect(config.config?.entrypoint == ["/bin/busybox"])
        #expect(config.config?.env == ["PATH=/bin", "HOME=/root"])
        #expect(config.config?.workingDir == "/root")
        #expect(config.config?.user == "1000:1000")
        #expect(config.config?.exposedPorts == ["8080/tcp"])
        #expect(config.config?.volumes == ["/data"])
        #expect(config.config?.labels == ["org.example.fixture": "busybox"])
        #expect(config.config?.stopSignal == "SIGQUIT")
        #expect((config.history?.count ?? 0) >= 1)
    }

    @Test("umoci layout, skopeo OCI copy and skopeo Docker schema 2 copy")
    func roundTrip() async throws {
        try await withTemporaryDirectory(prefix: "caisson-image") { dir in
            let fixture = try BusyboxImageFixture.build(in: dir)

            let umociConfig = try Self.checkLayout(fixture.umociLayout)
            Self.checkConfig(umociConfig)
            let skopeoConfig = try Self.checkLayout(fixture.skopeoLayout)
            #expect(skopeoConfig == umociConfig)

            // Docker v2 schema 2 via skopeo's dir: transport.
            let manifestData = try Self.read("\(fixture.dockerDirectory)/manifest.json")
            guard case .manifest(let manifest) = try ManifestDocument.decode(manifestData, mediaType: nil) else {
                Issue.record("expected a manifest")
                return
            }
            #expect(manifest.mediaType == .dockerManifest)
            #expect(manifest.isDocker)
            #expect(manifest.config.mediaType == .dockerImageConfig)
            #expect(manifest.layers.map(\.mediaType) == [.dockerLayerGzip])
            #expect(try Self.roundTrip(ImageManifest.self, manifestData) == manifest)
            for descriptor in [manifest.config] + manifest.layers {
                try descriptor.verify(Self.read("\(fixture.dockerDirectory)/\(descriptor.digest.encoded)"))
            }
            let dockerConfig = try Self.roundTrip(
                ImageConfiguration.self, Self.read("\(fixture.dockerDirectory)/\(manifest.config.digest.encoded)"))
            Self.checkConfig(dockerConfig)
            #expect(dockerConfig.rootfs == umociConfig.rootfs)
        }
    }
}
