import Hummingbird
import Prometheus

/// `/healthz`, `/readyz` and `/metrics`.
struct HealthController {
    let dependencies: AdminAPIDependencies

    struct Health: ResponseEncodable {
        var status: String
        var checks: [String: Bool]?
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("healthz") { _, _ in Health(status: "ok", checks: nil) }
        router.get("readyz") { _, _ -> Response in
            let reason = await notReadyReason()
            return try BillingAssuranceController.json(
                Readiness(ready: reason == nil, reason: reason), status: reason == nil ? .ok : .serviceUnavailable)
        }
        router.get("metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 * 1024)
            dependencies.registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    /// `/readyz`'s answer: `{"ready": true}`, or `{"ready": false, "reason": "…"}` with a 503.
    struct Readiness: ResponseEncodable {
        var ready: Bool
        var reason: String?

        enum CodingKeys: String, CodingKey { case ready, reason }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(ready, forKey: .ready)
            try c.encodeIfPresent(reason, forKey: .reason)
        }
    }

    /// Why the worker is not ready, or nil when it is (the contract's `/readyz` rules, in order).
    func notReadyReason() async -> String? {
        let status = dependencies.status
        if status.isShuttingDown { return "stopping" }
        if !status.isConsuming { return "starting" }
        guard await dependencies.databaseReachable() else { return "database unreachable" }
        let timeoutS = dependencies.settings.progressTimeoutSeconds
        let stalledMs = status.stalledMs(nowMs: dependencies.clock())
        if stalledMs > timeoutS * 1000 {
            return "no consumption progress for \(stalledMs / 1000) s although \(status.waitingRecords) records wait"
        }
        if let refused = await dependencies.outboxRefusalSeconds(), refused > Double(timeoutS) {
            return "the outbox holds a row the broker has refused for \(Int(refused)) s"
        }
        return nil
    }
}
