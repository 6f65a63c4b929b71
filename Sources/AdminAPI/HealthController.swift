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
            let database = await dependencies.databaseReachable()
            let consuming = dependencies.status.isConsuming
            let shuttingDown = dependencies.status.isShuttingDown
            let ready = database && consuming && !shuttingDown
            return try BillingAssuranceController.json(
                Health(
                    status: ready ? "ready" : "not ready",
                    checks: ["database": database, "consumer": consuming, "shuttingDown": shuttingDown]),
                status: ready ? .ok : .serviceUnavailable)
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
}
