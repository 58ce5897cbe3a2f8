// swift-tools-version:6.2
// smscrm: a multi-tenant SMS campaign CRM server. See README.md and DESIGN notes in docs/.
import PackageDescription

let package = Package(
    name: "smscrm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "smscrm-api", targets: ["smscrm-api"]),
        .executable(name: "smscrm-worker", targets: ["smscrm-worker"]),
        .executable(name: "smscrm", targets: ["smscrm"]),
        .executable(name: "twilio-sandbox", targets: ["twilio-sandbox"]),
    ],
    dependencies: [
        // traits: [] keeps the trait -D flags stable so Hummingbird is not rebuilt on every build (PITFALLS.md).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The admin UI's templates (escaping on by default for HTML).
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // Tests only: OpenAPISpecTests parses docs/openapi.yaml with a real YAML parser.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // C libraries: a modulemap and a shim header each; nothing else lives here.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // No pkgConfig: hiredis.pc carries -D_FILE_OFFSET_BITS=64, which SwiftPM rejects with a warning.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // The shim header adds typed wrappers for the variadic curl_easy_setopt/getinfo.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // libphonenumber is C++ with no pkg-config file (PITFALLS.md): this C++ target exposes a
        // C header (include/cphonenumber.h) and links the library; SMSCore's LibPhoneNumber is its
        // only caller. Its headers pull in protobuf, whose runtime the generated classes need.
        .target(
            name: "CPhoneNumber",
            linkerSettings: [.linkedLibrary("phonenumber"), .linkedLibrary("protobuf")]
        ),

        // Drivers: unsafe pointers stay inside these targets.
        .target(
            name: "ConnectionPool",
            dependencies: [
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ", "ConnectionPool",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis", "ConnectionPool",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Curl",
            dependencies: ["CCurl", "ConnectionPool"]
        ),

        // Domain, API, worker, sandbox.
        .target(
            name: "SMSCore",
            dependencies: [
                "Postgres", "Redis", "Curl", "CPhoneNumber",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The admin web UI (server-rendered pages and its assets), mounted by the API under /ui and /assets.
        .target(
            name: "SMSWeb",
            dependencies: [
                "SMSCore", "Postgres", "Redis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .target(
            name: "SMSAPI",
            dependencies: [
                "SMSCore", "SMSWeb", "Postgres", "Redis", "ConnectionPool", "Curl",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .target(
            name: "SMSWorker",
            dependencies: [
                "SMSCore", "Curl",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "TwilioSandbox",
            dependencies: [
                "Curl", "SMSCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Executables: @main only.
        .executableTarget(name: "smscrm-api", dependencies: ["SMSAPI", "SMSWeb"]),
        .executableTarget(name: "smscrm-worker", dependencies: ["SMSWorker"]),
        .executableTarget(
            name: "smscrm",
            dependencies: ["SMSCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "twilio-sandbox", dependencies: ["TwilioSandbox"]),

        // Tests run against the real servers that scripts/test.sh starts.
        .target(
            name: "TestSupport",
            dependencies: ["SMSCore", "Postgres", "Redis", "Curl"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "TestSupport"]),
        .testTarget(
            name: "CurlTests",
            dependencies: [
                "Curl", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "SMSCoreTests", dependencies: ["SMSCore", "TestSupport"]),
        .testTarget(
            name: "SMSAPITests",
            dependencies: [
                "SMSAPI", "SMSCore", "SMSWeb", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "TwilioSandboxTests",
            dependencies: ["TwilioSandbox", "SMSCore", "TestSupport", "Curl", .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["SMSCore", "TestSupport", "Curl", "TwilioSandbox", "Redis", "Postgres"]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
