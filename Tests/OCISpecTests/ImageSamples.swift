import Foundation

/// Image documents in the shapes skopeo, umoci, docker and registries write.
enum ImageSamples {
    static let layer1 = "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0"
    static let layer2 = "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b"
    static let layer3 = "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736"
    static let config = "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"

    // Spec: image-spec manifest.md#example-image-manifest
    static let ociManifest = #"""
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "\#(config)",
            "size": 7023
          },
          "layers": [
            {
              "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
              "digest": "\#(layer1)",
              "size": 32654
            },
            {
              "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
              "digest": "\#(layer2)",
              "size": 16724
            },
            {
              "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
              "digest": "\#(layer3)",
              "size": 73109,
              "urls": ["https://example.com/layer"]
            }
          ],
          "subject": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
            "size": 7682
          },
          "annotations": {
            "com.example.key1": "value1",
            "com.example.key2": "value2"
          }
        }
        """#

    // Spec: image-spec manifest.md#guidelines-for-artifact-usage (artifact with empty config)
    static let artifactManifest = #"""
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "artifactType": "application/vnd.example+type",
          "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "size": 2,
            "data": "e30="
          },
          "layers": [
            {
              "mediaType": "application/vnd.oci.empty.v1+json",
              "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
              "size": 2
            }
          ]
        }
        """#

    // Spec: image-spec image-index.md#example-image-index
    static let ociIndex = #"""
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.oci.image.index.v1+json",
          "manifests": [
            {
              "mediaType": "application/vnd.oci.image.manifest.v1+json",
              "size": 7143,
              "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
              "platform": { "architecture": "ppc64le", "os": "linux" }
            },
            {
              "mediaType": "application/vnd.oci.image.manifest.v1+json",
              "size": 7682,
              "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
              "platform": { "architecture": "amd64", "os": "linux" }
            },
            {
              "mediaType": "application/vnd.oci.image.manifest.v1+json",
              "size": 7682,
              "digest": "sha256:601570aaff1b68a61eb9c85b8beca1644e698003e0cdb5bce960f193d265a8b7",
              "platform": { "architecture": "arm64", "os": "linux", "variant": "v8" }
            },
            {
              "mediaType": "application/vnd.oci.image.manifest.v1+json",
              "size": 1000,
              "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
              "platform": { "architecture": "amd64", "os": "windows", "os.version": "10.0.17763.1879", "os.features": ["win32k"] }
            }
          ],
          "annotations": { "com.example.key1": "value1" }
        }
        """#

    // Docker manifest list as served by Docker Hub.
    static let dockerManifestList = #"""
        {"manifests":[{"digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f","mediaType":"application\/vnd.docker.distribution.manifest.v2+json","platform":{"architecture":"amd64","os":"linux"},"size":528},{"digest":"sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270","mediaType":"application\/vnd.docker.distribution.manifest.v2+json","platform":{"architecture":"arm","os":"linux","variant":"v6"},"size":528},{"digest":"sha256:601570aaff1b68a61eb9c85b8beca1644e698003e0cdb5bce960f193d265a8b7","mediaType":"application\/vnd.docker.distribution.manifest.v2+json","platform":{"architecture":"arm","os":"linux","variant":"v7"},"size":528}],"mediaType":"application\/vnd.docker.distribution.manifest.list.v2+json","schemaVersion":2}
        """#

    static let dockerManifest = #"""
        {
           "schemaVersion": 2,
           "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
           "config": {
              "mediaType": "application/vnd.docker.container.image.v1+json",
              "size": 1457,
              "digest": "\#(config)"
           },
           "layers": [
              {
                 "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                 "size": 2220094,
                 "digest": "\#(layer1)"
              },
              {
                 "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                 "size": 100,
                 "digest": "\#(layer2)",
                 "urls": ["https://mcr.microsoft.com/layer"]
              }
           ]
        }
        """#

    // A docker-written image config, with the fields outside the OCI schema.
    static let dockerConfig = #"""
        {"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"nobody:nogroup","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"53/udp":{},"80/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NGINX_VERSION=1.25.3"],"Cmd":["nginx","-g","daemon off;"],"Healthcheck":{"Test":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"Interval":30000000000,"Timeout":5000000000,"Retries":3},"ArgsEscaped":true,"Image":"sha256:1234","Volumes":null,"WorkingDir":"/srv","Entrypoint":["/docker-entrypoint.sh"],"OnBuild":null,"Labels":{"maintainer":"NGINX Docker Maintainers"},"StopSignal":"SIGQUIT"},"container":"f1a2","container_config":{"Cmd":["/bin/sh"]},"created":"2023-11-01T05:29:24.283520208Z","docker_version":"20.10.23","history":[{"created":"2023-11-01T00:20:45.91484538Z","created_by":"/bin/sh -c #(nop) ADD file:abc in / "},{"created":"2023-11-01T00:20:46.200409326Z","created_by":"/bin/sh -c #(nop)  CMD [\"bash\"]","empty_layer":true},{"created":"2023-11-01T05:29:24.283520208Z","author":"me","created_by":"RUN x","comment":"buildkit.dockerfile.v0"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["\#(layer1)","\#(layer2)"]}}
        """#

    // Spec: image-spec config.md#example
    static let ociConfig = #"""
        {
            "created": "2015-10-31T22:22:56.015925234Z",
            "author": "Alyssa P. Hacker <alyspdev@example.com>",
            "architecture": "arm64",
            "variant": "v8",
            "os": "linux",
            "config": {
                "User": "alice",
                "ExposedPorts": { "8080/tcp": {} },
                "Env": [ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "FOO=oci_is_a", "BAR=well_written_spec" ],
                "Entrypoint": [ "/bin/my-app-binary" ],
                "Cmd": [ "--foreground", "--config", "/etc/my-app.d/default.cfg" ],
                "Volumes": { "/var/job-result-data": {}, "/var/log/my-app-logs": {} },
                "WorkingDir": "/home/alice",
                "Labels": { "com.example.project.git.url": "https://example.com/project.git", "com.example.project.git.commit": "45a939b2999782a3f005621a8d0f29aa387e1d6b" }
            },
            "rootfs": {
              "diff_ids": [
                "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1",
                "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
              ],
              "type": "layers"
            },
            "history": [
              { "created": "2015-10-31T22:22:54.690851953Z", "created_by": "/bin/sh -c #(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /" },
              { "created": "2015-10-31T22:22:55.613815829Z", "created_by": "/bin/sh -c #(nop) CMD [\"sh\"]", "empty_layer": true }
            ]
        }
        """#

    static let schema1Signed = #"""
        {
           "schemaVersion": 1,
           "name": "hello-world",
           "tag": "latest",
           "architecture": "amd64",
           "fsLayers": [ { "blobSum": "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef" } ],
           "history": [ { "v1Compatibility": "{\"id\":\"e45a5af57b00862e5ef5782a9925979a02ba2b12dff832fd0991335f4a11e5c5\"}" } ],
           "signatures": [ { "header": { "alg": "ES256" }, "signature": "XREm0L8WNn27Ga_iE_vRnTxVMhhYY0Zst_FfkKopg6gWSoTOZTuW4rK0fg_IqnKkEKlbD83tD46LKEGi5aIVFg", "protected": "eyJmb3JtYXRMZW5ndGgiOjY2MjgsImZvcm1hdFRhaWwiOiJDbjAiLCJ0aW1lIjoiMjAxNS0wNC0wOFQxODo1Mjo1OVoifQ" } ]
        }
        """#

    static var all: [String] {
        [ociManifest, artifactManifest, ociIndex, dockerManifestList, dockerManifest, dockerConfig, ociConfig, schema1Signed]
    }
}

/// A small deterministic generator (SplitMix64) for reproducible random tests.
struct ImageTestRNG: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
