import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `assure-worker healthcheck`: asks a running worker's `/readyz` and exits 0 only when it is ready, so
/// container health checks need no curl in the image.
struct HealthcheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck",
        abstract: "Exit 0 when the worker's /readyz answers 200, 1 otherwise (for container health checks).",
        discussion: """
            Asks http://127.0.0.1:$ASSURE_HTTP_PORT/readyz (default port 8080) unless --url names another \
            endpoint; prints the answer.

            Examples:
              assure-worker healthcheck
              assure-worker healthcheck --url http://127.0.0.1:8080/healthz
            """)

    @Option(help: "The endpoint to ask, instead of /readyz on ASSURE_HTTP_PORT.")
    var url: String?

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Double = 3

    func run() async throws {
        let port = try AssureConfiguration.fromEnvironment().httpPort
        guard let target = URL(string: url ?? "http://127.0.0.1:\(port)/readyz") else {
            throw ValidationError("--url is not a URL")
        }
        var request = URLRequest(url: target)
        request.timeoutInterval = timeout
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            print("\(status) \(String(decoding: data, as: UTF8.self))")
            if status != 200 { throw ExitCode.failure }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("unreachable: \(error.localizedDescription)")
            throw ExitCode.failure
        }
    }
}
