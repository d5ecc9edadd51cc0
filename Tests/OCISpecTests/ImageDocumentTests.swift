import Foundation
import Testing

import OCIHashing
@testable import OCISpec

@Suite("Image documents")
struct ImageDocumentTests {
    /// decode → encode → decode gives an equal value, and re-encoding gives the same bytes.
    static func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ json: String) throws -> T {
        let value = try OCIJSON.decode(type, from: Data(json.utf8))
        let encoded = try OCIJSON.encode(value)
        let again = try OCIJSON.decode(type, from: encoded)
        #expect(again == value)
        #expect(try OCIJSON.encode(again) == encoded)
        #expect(try OCIJSON.encode(value, pretty: true) == OCIJSON.encode(again, pretty: true))
        return value
    }

    @Test("OCI manifest")
    func ociManifest() throws {
        let m = try Self.roundTrip(ImageManifest.self, ImageSamples.ociManifest)
        #expect(m.schemaVersion == 2)
        #expect(m.mediaType == .imageManifest)
        #expect(!m.isDocker)
        #expect(m.config.mediaType == .imageConfig)
        #expect(m.config.digest.description == ImageSamples.config)
        #expect(m.layers.count == 3)
        #expect(m.layers[2].mediaType.layerCompression == .zstd)
        #expect(m.layers[2].urls == ["https://example.com/layer"])
        #expect(m.subject?.size == 7682)
        #expect(m.annotations?["com.example.key1"] == "value1")
    }

    @Test("artifact manifest with embedded data and the empty descriptor")
    func artifact() throws {
        let m = try Self.roundTrip(ImageManifest.self, ImageSamples.artifactManifest)
        #expect(m.artifactType == "application/vnd.example+type")
        #expect(m.config.data == Data("{}".utf8))
        #expect(m.config == Descriptor.empty)
        try m.config.verifyEmbeddedData()
        let json = String(decoding: try OCIJSON.encode(m.config), as: UTF8.self)
        #expect(json.contains(#""data":"e30=""#))
        var tampered = m.config
        tampered.data = Data("[]".utf8)
        #expect(throws: OCISpecError.self) { try tampered.verifyEmbeddedData() }
    }

    @Test("OCI index with platforms, OS version and features")
    func ociIndex() throws {
        let index = try Self.roundTrip(ImageIndex.self, ImageSamples.ociIndex)
        #expect(index.manifests.count == 4)
        #expect(index.manifests[2].platform == Platform(os: "linux", architecture: "arm64", variant: "v8"))
        #expect(index.manifests[3].platform?.osVersion == "10.0.17763.1879")
        #expect(index.manifests[3].platform?.osFeatures == ["win32k"])
        #expect(index.manifest(for: Platform(os: "linux", architecture: "amd64")) == index.manifests[1])
        #expect(index.manifest(for: Platform(os: "linux", architecture: "aarch64")) == index.manifests[2])
        #expect(index.manifest(for: Platform(os: "linux", architecture: "s390x")) == nil)
    }

    @Test("Docker manifest list decodes into ImageIndex")
    func dockerList() throws {
        let index = try Self.roundTrip(ImageIndex.self, ImageSamples.dockerManifestList)
        #expect(index.isDocker)
        #expect(index.manifests.allSatisfy { $0.mediaType == .dockerManifest })
        // An arm64 host without an arm64 entry falls back to arm/v7 before arm/v6.
        #expect(index.manifest(for: Platform(os: "linux", architecture: "arm64")) == index.manifests[2])
        #expect(index.manifest(for: Platform(os: "linux", architecture: "arm", variant: "v6")) == index.manifests[1])
    }

    @Test("Docker schema 2 manifest decodes into ImageManifest")
    func dockerManifest() throws {
        let m = try Self.roundTrip(ImageManifest.self, ImageSamples.dockerManifest)
        #expect(m.isDocker)
        #expect(m.config.mediaType == .dockerImageConfig)
        #expect(m.config.mediaType.isImageConfig)
        #expect(m.layers[0].mediaType.layerCompression == .gzip)
        #expect(m.layers[1].mediaType.isNonDistributableLayer)
    }

    @Test("Docker image config, including Healthcheck and null fields")
    func dockerConfig() throws {
        let c = try Self.roundTrip(ImageConfiguration.self, ImageSamples.dockerConfig)
        #expect(c.platform == Platform(os: "linux", architecture: "amd64"))
        #expect(c.config?.user == "nobody:nogroup")
        #expect(c.config?.exposedPorts == ["53/udp", "80/tcp"])
        #expect(c.config?.volumes == nil)
        #expect(c.config?.entrypoint == ["/docker-entrypoint.sh"])
        #expect(c.config?.cmd == ["nginx", "-g", "daemon off;"])
        #expect(c.config?.argsEscaped == true)
        #expect(c.config?.stopSignal == "SIGQUIT")
        #expect(c.config?.healthcheck?.test == ["CMD-SHELL", "curl -f http://localhost/ || exit 1"])
        #expect(c.config?.healthcheck?.interval == 30_000_000_000)
        #expect(c.config?.healthcheck?.retries == 3)
        #expect(c.rootfs.type == "layers")
        #expect(c.rootfs.diffIDs.map(\.description) == [ImageSamples.layer1, ImageSamples.layer2])
        #expect(c.history?.count == 3)
        #expect(c.history?[1].emptyLayer == true)
        #expect(c.history?[2].comment == "buildkit.dockerfile.v0")
        #expect(c.history?[2].author == "me")
    }

    @Test("OCI image config example")
    func ociConfig() throws {
        let c = try Self.roundTrip(ImageConfiguration.self, ImageSamples.ociConfig)
        #expect(c.author == "Alyssa P. Hacker <alyspdev@example.com>")
        #expect(c.variant == "v8")
        #expect(c.config?.volumes == ["/var/job-result-data", "/var/log/my-app-logs"])
        let json = String(decoding: try OCIJSON.encode(c), as: UTF8.self)
        #expect(json.contains(#""Volumes":{"/var/job-result-data":{},"/var/log/my-app-logs":{}}"#))
        #expect(json.contains(#""ExposedPorts":{"8080/tcp":{}}"#))
        #expect(json.contains(#""diff_ids":["#))
        #expect(json.contains(#""created_by":"#))
        #expect(!json.contains("\\/"))
    }

    @Test("oci-layout file and layout paths")
    func layout() throws {
        let layout = try Self.roundTrip(ImageLayout.self, #"{"imageLayoutVersion":"1.0.0"}"#)
        #expect(layout == ImageLayout())
        #expect(String(decoding: try OCIJSON.encode(layout), as: UTF8.self) == #"{"imageLayoutVersion":"1.0.0"}"#)
        let digest = try Digest(parsing: ImageSamples.config)
        #expect(ImageLayout.blobPath(for: digest) == "blobs/sha256/\(digest.encoded)")
    }

    @Test("encoding omits absent fields and is stable")
    func encodingIsDeterministic() throws {
        let config = Descriptor.of(Data("{}".utf8), mediaType: .imageConfig)
        let manifest = ImageManifest(config: config, layers: [], annotations: ["b": "2", "a": "1"])
        let json = String(decoding: try OCIJSON.encode(manifest), as: UTF8.self)
        #expect(json == #"{"annotations":{"a":"1","b":"2"},"config":{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","mediaType":"application/vnd.oci.image.config.v1+json","size":2},"layers":[],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#)
        let digest = Digest.sha256(of: try OCIJSON.encode(manifest))
        let redecoded = try OCIJSON.decode(ImageManifest.self, from: try OCIJSON.encode(manifest))
        #expect(Digest.sha256(of: try OCIJSON.encode(redecoded)) == digest)
    }

    // MARK: ManifestDocument

    @Test("ManifestDocument tells indexes from manifests")
    func manifestDocument() throws {
        let cases: [(String, MediaType?, Bool)] = [
            (ImageSamples.ociIndex, nil, true), (ImageSamples.ociIndex, .imageIndex, true),
            (ImageSamples.dockerManifestList, .dockerManifestList, true),
            (ImageSamples.ociManifest, nil, false), (ImageSamples.dockerManifest, .dockerManifest, false),
            (#"{"schemaVersion":2,"manifests":[]}"#, nil, true),
            (#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(ImageSamples.config)","size":1},"layers":[]}"#, .imageManifest, false),
        ]
        for (json, mediaType, isIndex) in cases {
            let document = try ManifestDocument.decode(Data(json.utf8), mediaType: mediaType)
            #expect((document.index != nil) == isIndex)
            #expect((document.manifest != nil) == !isIndex)
        }
    }

    @Test("ManifestDocument refuses Docker schema 1")
    func schema1() {
        let inputs: [(String, MediaType?)] = [
            (ImageSamples.schema1Signed, nil),
            (ImageSamples.schema1Signed, .dockerSchema1SignedManifest),
            (#"{"schemaVersion":2}"#, .dockerSchema1Manifest),
            (#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#, .dockerManifest),
            (#"{"mediaType":"application/vnd.docker.distribution.manifest.v1+json"}"#, nil),
        ]
        for (json, mediaType) in inputs {
            let error = #expect(throws: OCISpecError.self) { try ManifestDocument.decode(Data(json.utf8), mediaType: mediaType) }
            #expect(error?.code == .unsupported)
            #expect(error?.message.contains("Docker schema 1 manifests are not supported;") == true, "\(error?.message ?? "")")
        }
    }

    @Test("ManifestDocument rejects mismatched or foreign media types")
    func manifestDocumentMediaTypes() {
        let mismatch = #expect(throws: OCISpecError.self) {
            try ManifestDocument.decode(Data(ImageSamples.ociIndex.utf8), mediaType: .imageManifest)
        }
        #expect(mismatch?.code == .invalidDocument)
        let foreign = #expect(throws: OCISpecError.self) {
            try ManifestDocument.decode(Data(ImageSamples.ociConfig.utf8), mediaType: .imageConfig)
        }
        #expect(foreign?.code == .unsupported)
        let shapeless = #expect(throws: OCISpecError.self) {
            try ManifestDocument.decode(Data(#"{"schemaVersion":2}"#.utf8), mediaType: nil)
        }
        #expect(shapeless?.code == .invalidDocument)
    }

    // MARK: Field-path errors

    @Test(
        "errors name the field path",
        arguments: [
            (
                #"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(ImageSamples.config)","size":1},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\#(ImageSamples.layer1)","size":1},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\#(ImageSamples.layer1)","size":1},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:XYZ","size":1}]}"#,
                "layers[2].digest: invalid digest \"sha256:XYZ\": ", OCISpecError.Code.invalidDigest
            ),
            (
                #"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(ImageSamples.config)","size":-1},"layers":[]}"#,
                "config.size: size must not be negative", .invalidDocument
            ),
            (
                #"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(ImageSamples.config)","size":1}}"#,
                "layers: required field is missing", .invalidDocument
            ),
            (
                #"{"schemaVersion":3,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(ImageSamples.config)","size":1},"layers":[]}"#,
                "schemaVersion: expected 2, found 3", .invalidDocument
            ),
            (
                #"{"schemaVersion":2,"config":{"mediaType":"not a media type","digest":"\#(ImageSamples.config)","size":1},"layers":[]}"#,
                "config.mediaType: invalid media type \"not a media type\"", .invalidMediaType
            ),
            (
                #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(ImageSamples.config)","size":1},"layers":[]}"#,
                "mediaType: \"application/vnd.oci.image.index.v1+json\" is not an image manifest media type", .invalidMediaType
            ),
            (
                #"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(ImageSamples.config)","size":"1"},"layers":[]}"#,
                "config.size: expected integer", .invalidDocument
            ),
        ] as [(String, String, OCISpecError.Code)])
    func fieldPaths(_ json: String, _ prefix: String, _ code: OCISpecError.Code) {
        let error = #expect(throws: OCISpecError.self) { try OCIJSON.decode(ImageManifest.self, from: Data(json.utf8)) }
        #expect(error?.code == code)
        #expect(error?.message.hasPrefix(prefix) == true, "\(error?.message ?? "")")
    }

    @Test("field paths inside indexes and configs")
    func nestedFieldPaths() {
        let index = #"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: "a", count: 64))","size":1,"platform":{"os":"linux"}}]}"#
        let indexError = #expect(throws: OCISpecError.self) { try OCIJSON.decode(ImageIndex.self, from: Data(index.utf8)) }
        #expect(indexError?.message.hasPrefix("manifests[0].platform.architecture: required field is missing") == true, "\(indexError?.message ?? "")")
        let config = #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:abc"]}}"#
        let configError = #expect(throws: OCISpecError.self) { try OCIJSON.decode(ImageConfiguration.self, from: Data(config.utf8)) }
        #expect(configError?.message.hasPrefix("rootfs.diff_ids[0]: invalid digest \"sha256:abc\"") == true, "\(configError?.message ?? "")")
    }

    // MARK: MediaType

    @Test("media type classification")
    func mediaTypes() throws {
        #expect(MediaType.imageIndex.isIndex && MediaType.dockerManifestList.isIndex)
        #expect(MediaType.imageManifest.isManifest && MediaType.dockerManifest.isManifest)
        #expect(!MediaType.dockerSchema1Manifest.isManifest)
        #expect(MediaType.dockerSchema1Manifest.isDockerSchema1 && MediaType.dockerSchema1SignedManifest.isDockerSchema1)
        let layers: [(MediaType, MediaType.LayerCompression)] = [
            (.imageLayer, .none), (.imageLayerGzip, .gzip), (.imageLayerZstd, .zstd),
            (.imageLayerNonDistributable, .none), (.imageLayerNonDistributableGzip, .gzip),
            (.imageLayerNonDistributableZstd, .zstd), (.dockerLayerGzip, .gzip), (.dockerForeignLayerGzip, .gzip),
            (.dockerLayer, .none), (.dockerLayerZstd, .zstd),
        ]
        for (type, compression) in layers {
            #expect(type.isLayer)
            #expect(type.layerCompression == compression)
        }
        for type in [MediaType.imageConfig, .imageIndex, .empty, .imageLayoutHeader, .dockerPluginConfig] {
            #expect(!type.isLayer)
        }
        #expect(try MediaType(parsing: "application/vnd.oci.image.manifest.v1+json; charset=utf-8") == .imageManifest)
        #expect(throws: OCISpecError.self) { try MediaType(parsing: "application") }
        #expect(throws: OCISpecError.self) { try MediaType(parsing: "a/b/c") }
        #expect(throws: OCISpecError.self) { try MediaType(parsing: "/json") }
    }
}
