import Foundation
import Synchronization
import Testing

/// Gathers a pipe's output as it arrives (Foundation reads on its own queue).
final class OutputCollector: Sendable {
    private struct State {
        var data = Data()
        var ended = false
    }
    private let state = Mutex(State())

    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            self.state.withLock { state in
                if chunk.isEmpty { state.ended = true } else { state.data.append(chunk) }
            }
            if chunk.isEmpty { handle.readabilityHandler = nil }
        }
    }

    var text: String { state.withLock { String(decoding: $0.data, as: UTF8.self) } }
    var ended: Bool { state.withLock { $0.ended } }
}

/// `assure-worker kafka-dev` as a child process, reached by kcat from other processes.
@Suite("kafka-dev command", .serialized)
struct KafkaDevCommandTests {
    struct CommandFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Runs a command to completion (with a bounded wait) and returns its standard output.
    ///
    /// Output goes to a temporary file, not a pipe: a pipe's write end can leak into a child another
    /// test spawns at the same moment, and then its end of file never comes.
    static func run(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("kcat-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outputURL) }
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw CommandFailure(message: "\(arguments) did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard process.terminationStatus == 0 else {
            throw CommandFailure(message: "\(arguments) exited with \(process.terminationStatus)")
        }
        return String(decoding: try Data(contentsOf: outputURL), as: UTF8.self)
    }

    @Test("kafka-dev prints bootstrap=, and kcat lists the contract's topics, produces and consumes")
    func kafkaDevIsReachableByKcat() async throws {
        let child = Process()
        child.executableURL = try ChildWorker.executableURL()
        child.arguments = ["kafka-dev", "--brokers", "2", "--partitions", "3", "--topic-prefix", "devtest."]
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
        defer {
            if child.isRunning {
                child.terminate()
                child.waitUntilExit()
            }
        }

        // Read stdout (on Foundation's reading queue, not the cooperative pool) until the bootstrap line.
        let collected = OutputCollector(output)
        try await RealBroker.eventually("the bootstrap= line", timeout: .seconds(20)) {
            collected.text.contains("bootstrap=") && collected.text.contains("\n") || !child.isRunning
        }
        let bootstrap = collected.text.split(separator: "\n").first { $0.hasPrefix("bootstrap=") }
            .map { String($0.dropFirst("bootstrap=".count)) }
        let servers = try #require(bootstrap, "kafka-dev printed no bootstrap= line")
        #expect(!servers.isEmpty)

        let metadata = try await Self.run(["kcat", "-L", "-b", servers])
        for name in ["ledger.v1", "accounts.v1", "webhooks.v1", "plan-gates.v1", "assurance.commands.v1",
            "assurance.issues.v1", "assurance.alerts.v1", "assurance.repairs.v1", "assurance.dlq.v1"]
        {
            #expect(metadata.contains("topic \"devtest.\(name)\" with 3 partitions"), "missing devtest.\(name)")
        }

        _ = try await Self.run(
            ["kcat", "-P", "-b", servers, "-t", "devtest.ledger.v1", "-K", ":"], input: "user_1:hello\nuser_2:world\n")
        let consumed = try await Self.run(
            ["kcat", "-C", "-b", servers, "-t", "devtest.ledger.v1", "-o", "beginning", "-e", "-f", "%k=%s\n"])
        #expect(Set(consumed.split(separator: "\n").map(String.init)) == ["user_1=hello", "user_2=world"])

        child.terminate()
        child.waitUntilExit()
        #expect(child.terminationReason == .exit, "kafka-dev should exit cleanly on SIGTERM")
    }
}
