// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "mcp-conductor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "conductor", targets: ["conductor"]),
        .library(name: "KubeJSON", targets: ["KubeJSON"]),
        .library(name: "LocalAPIServer", targets: ["LocalAPIServer"]),
        .library(name: "KubeClient", targets: ["KubeClient"]),
        .library(name: "ConductorAPI", targets: ["ConductorAPI"]),
        .library(name: "ConductorController", targets: ["ConductorController"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // A JSON value that keeps key order, a fast parser and writer, merge and JSON patch.
        .target(
            name: "KubeJSON",
            dependencies: [
                .product(name: "OrderedCollections", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        // CRD structural schemas: validation, defaults, pruning.
        .target(name: "KubeSchema", dependencies: ["KubeJSON"], swiftSettings: strict),
        // The Kubernetes-compatible API server that runs in one process.
        .target(
            name: "LocalAPIServer",
            dependencies: [
                "KubeJSON",
                "KubeSchema",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // Typed wrappers for libcurl's variadic calls.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        // glibc's allocator settings, which its Swift module does not expose (malloc.h).
        .target(name: "CMallocTuning"),
        // The Kubernetes client: one multiplexed HTTP/2 connection, typed CRUD, watches, informers, leases.
        .target(
            name: "KubeClient",
            dependencies: [
                "CCurl",
                "KubeJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // The Agent and Task models, phases, conditions, quantities and constants every other part shares.
        .target(name: "ConductorAPI", dependencies: ["KubeClient", "KubeJSON"], swiftSettings: strict),
        // The scheduling core: the lock-free assignment queue and the scheduler, with no Kubernetes types.
        .target(
            name: "ConductorScheduler",
            dependencies: [
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: strict
        ),
        // Times scheduling decisions on a synthetic 10,000-agent cluster, and the assignment queue's throughput.
        .executableTarget(name: "scheduler-bench", dependencies: ["ConductorScheduler"], swiftSettings: strict),
        // Task lifecycle: the policy (retries, backoff, deadlines, cancellation, agent loss), fenced status
        // writes, and the task actors under their supervisor.
        .target(
            name: "ConductorController",
            dependencies: [
                "KubeClient",
                "ConductorAPI",
                "ConductorScheduler",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The agent runtime: register an Agent, heartbeat its Lease, run the tasks assigned to it and report
        // with fenced writes. Simulated agents in tests and the load test are built on it.
        .target(
            name: "ConductorAgent",
            dependencies: [
                "KubeClient",
                "ConductorAPI",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The MCP front end: JSON-RPC, sessions signed into their ids, tools from the agents' capabilities, tool calls as
        // Tasks awaited on the task actors, streamable HTTP on Hummingbird (mcp-notes.md says why not the Swift SDK).
        .target(
            name: "ConductorMCP",
            dependencies: [
                "ConductorController",
                "ConductorAPI",
                "KubeClient",
                "KubeJSON",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // `conductor agent`'s process around the agent runtime: its configuration (file, flags, environment) and the
        // executors that run a capability's tasks (a command per task, an HTTP endpoint).
        .target(
            name: "ConductorAgentHost",
            dependencies: [
                "ConductorAgent",
                "ConductorAPI",
                "KubeClient",
                "KubeJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "conductor",
            dependencies: [
                "CMallocTuning",
                "ConductorAgent",
                "ConductorAgentHost",
                "LocalAPIServer",
                "KubeClient",
                "ConductorAPI",
                "ConductorController",
                "ConductorMCP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The load-test harness (loadtest/README.md).
        .executableTarget(
            name: "loadtest",
            dependencies: [
                "KubeClient",
                "KubeJSON",
                "ConductorAPI",
                "ConductorAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "loadtest/Sources",
            swiftSettings: strict
        ),
        .testTarget(name: "KubeJSONTests", dependencies: ["KubeJSON"]),
        .testTarget(name: "ConductorAgentHostTests", dependencies: ["ConductorAgentHost", "ConductorAgent", "ConductorAPI", "KubeJSON"]),
        .testTarget(name: "ConductorMCPTests", dependencies: ["ConductorMCP", "ConductorAPI", "ConductorController", "ConductorTestSupport",
                                                          "KubeClient", "KubeJSON", .product(name: "HTTPTypes", package: "swift-http-types"),
                                                          .product(name: "NIOEmbedded", package: "swift-nio")]),
        .testTarget(name: "ConductorSchedulerTests", dependencies: ["ConductorScheduler"]),
        .testTarget(name: "CMallocTuningTests", dependencies: ["CMallocTuning"]),
        .testTarget(name: "KubeSchemaTests", dependencies: ["KubeSchema", "KubeJSON", "ConductorTestSupport"]),
        .testTarget(name: "LocalAPIServerTests", dependencies: ["LocalAPIServer", "KubeJSON",
                                                               .product(name: "NIOCore", package: "swift-nio"),
                                                               .product(name: "NIOEmbedded", package: "swift-nio")]),
        // What tests that start a real `conductor apiserver` share: the process, a client of it, the project's CRDs.
        .target(
            name: "ConductorTestSupport",
            dependencies: ["KubeClient", "KubeJSON", .product(name: "Yams", package: "Yams")],
            path: "Tests/ConductorTestSupport"
        ),
        .testTarget(
            name: "KubeClientTests",
            dependencies: ["KubeClient", "KubeJSON", "ConductorTestSupport", .product(name: "Yams", package: "Yams")]
        ),
        .testTarget(
            name: "ConductorAPITests",
            dependencies: ["ConductorAPI", "KubeClient", "KubeJSON", "ConductorTestSupport", .product(name: "Yams", package: "Yams")]
        ),
        .testTarget(
            name: "ConductorControllerTests",
            dependencies: [
                "ConductorController", "ConductorAPI", "ConductorScheduler", "KubeClient", "KubeJSON", "ConductorTestSupport",
            ]
        ),
        // `conductor run` as a process, with simulated agents on the agent runtime, against a real API server.
        .testTarget(
            name: "ConductorEndToEndTests",
            dependencies: ["ConductorAgent", "ConductorAPI", "KubeClient", "KubeJSON", "ConductorTestSupport"]
        ),
    ]
)
