import Consumers
import Foundation
import Persistence
import Shared
import Testing
import TestSupport

/// What production packaging relies on: `--version`, the `healthcheck` the image's health check runs,
/// and `ASSURE_LOG_FORMAT` refused when unknown.
@Suite struct PackagingCommandTests {
    @Test func versionNamesTheBuildAndTheLibrdkafkaItLoaded() async throws {
        let (status, output) = try await ChildWorker.run(try ChildWorker.executableURL(), ["--version"])
        #expect(status == 0, "\(output)")
        #expect(
            output.trimmingCharacters(in: .whitespacesAndNewlines)
                == "assure-worker \(AssureVersion.current) (librdkafka \(KafkaLibrary.version))")
    }

    @Test func runRefusesAnUnknownLogFormatWithAOneLineReason() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["ASSURE_LOG_FORMAT"] = "xml"
        let (status, output) = try await ChildWorker.run(try ChildWorker.executableURL(), ["run"], environment: environment)
        #expect(status != 0)
        #expect(output.contains("ASSURE_LOG_FORMAT=xml is neither text nor json"), "\(output)")
    }

    @Test func healthcheckPassesOnceTheWorkerIsReadyAndFailsWhenNothingAnswers() async throws {
        let env = try await WorkerTestEnvironment.make()
        _ = try await env.withDatabase { try await $0.migrate() }
        let port = try PostgresTestServer.freeLoopbackPort()
        let worker = try ChildWorker(env: env, settleMs: 300, overrides: ["ASSURE_HTTP_PORT": String(port)])
        let nobody = try PostgresTestServer.freeLoopbackPort()
        let refused = try await worker.runCommand(["healthcheck", "--url", "http://127.0.0.1:\(nobody)/readyz"])
        #expect(refused.status == 1, "\(refused.output)")
        try worker.start()
        do {
            var last = (status: Int32(-1), output: "")
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                last = try await worker.runCommand(["healthcheck"])
                if last.status == 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(last.status == 0, "\(last.output)")
            #expect(last.output.hasPrefix("200 "), "\(last.output)")
            await worker.terminate()
        } catch {
            await worker.terminate()
            throw error
        }
    }
}
